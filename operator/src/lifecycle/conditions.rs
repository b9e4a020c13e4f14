//! How a plan shows in `status`: the recorded operation, `Progressing` and
//! `Degraded`, and whether it deserves an Event.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use k8s_openapi::jiff::Timestamp;

use super::plan::{Plan, PlanState};
use crate::crd::{ChronikClusterStatus, OperationStatus};
use crate::status::{DEGRADED, PROGRESSING};

/// Record the plan's operation and let its state show in the conditions:
/// a step in flight or paused → `Progressing`, a stopped roll → `Degraded`.
pub fn apply_plan(
    status: &mut ChronikClusterStatus,
    plan: &Plan,
    generation: Option<i64>,
    now: Timestamp,
) {
    status.operation = plan.operation.clone();
    let mut set = |type_: &str, ok: bool| {
        set_condition(
            &mut status.conditions,
            Condition {
                type_: type_.to_string(),
                status: if ok { "True" } else { "False" }.to_string(),
                reason: plan.reason.clone(),
                message: plan.message.clone(),
                observed_generation: generation,
                last_transition_time: Time(now),
            },
        )
    };
    match plan.state {
        PlanState::Done => {}
        PlanState::Progressing => set(PROGRESSING, true),
        PlanState::Paused => set(PROGRESSING, false),
        PlanState::Blocked => {
            set(PROGRESSING, false);
            set(DEGRADED, true);
        }
    }
}

/// Replace the condition of the same type, keeping its transition time while
/// its status does not change.
fn set_condition(conditions: &mut Vec<Condition>, mut new: Condition) {
    match conditions.iter_mut().find(|c| c.type_ == new.type_) {
        Some(old) => {
            if old.status == new.status {
                new.last_transition_time = old.last_transition_time.clone();
            }
            *old = new;
        }
        None => conditions.push(new),
    }
}

/// True when the plan starts a step other than the recorded one (or stops
/// the roll): worth one Event, not one per poll.
pub fn is_news(recorded: Option<&OperationStatus>, plan: &Plan) -> bool {
    let key = |o: &OperationStatus| (o.kind, o.step, o.member_id, o.pod.clone());
    match (recorded, plan.operation.as_ref()) {
        (_, None) => false,
        (None, Some(_)) => true,
        (Some(old), Some(new)) => {
            key(old) != key(new) || (plan.state == PlanState::Blocked && old.message != new.message)
        }
    }
}
