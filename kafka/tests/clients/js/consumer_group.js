// kafkajs consumer group: two members share a four-partition topic (each
// is assigned two partitions and reads only those), commit what they read
// and leave; then a member rejoins the group and resumes from the committed
// offsets: it reads exactly the records written after the commits.
'use strict';

const c = require('./common');

// A member that records what it reads and commits after every batch.
async function member(kafka, args, name) {
  const m = { name, assigned: [], got: [], wrongPartition: [] };
  m.consumer = kafka.consumer({ groupId: args.group, heartbeatInterval: 500 });
  m.consumer.on(m.consumer.events.GROUP_JOIN, (e) => {
    m.assigned = e.payload.memberAssignment[args.topic] || [];
  });
  await m.consumer.connect();
  await m.consumer.subscribe({ topic: args.topic, fromBeginning: true });
  await m.consumer.run({
    autoCommit: false,
    eachBatch: async ({ batch }) => {
      for (const message of batch.messages) {
        if (!m.assigned.includes(batch.partition)) {
          m.wrongPartition.push(batch.partition);
        }
        m.got.push(message.value.toString());
      }
      const next = (BigInt(batch.lastOffset()) + 1n).toString();
      await m.consumer.commitOffsets([{ topic: args.topic, partition: batch.partition, offset: next }]);
    },
  });
  return m;
}

// Committed offsets of the group on the topic, summed over partitions, and
// the topic's high watermarks, summed.
async function committedAndEnd(kafka, args) {
  const admin = kafka.admin();
  await admin.connect();
  const [committed] = await admin.fetchOffsets({ groupId: args.group, topics: [args.topic] });
  const ends = await admin.fetchTopicOffsets(args.topic);
  await admin.disconnect();
  const sum = (list, field) => list.reduce((s, p) => s + Number(p[field]), 0);
  return [sum(committed.partitions, 'offset'), sum(ends, 'high')];
}

async function main() {
  const args = c.parseArgs(['bootstrap', 'topic', 'group', 'count']);
  const count = Number(args.count);
  const kafka = c.client(args, 'kafkajs-group');
  await c.createTopic(kafka, args.topic, 4);

  const one = await member(kafka, args, 'one');
  const two = await member(kafka, args, 'two');
  // Produce only once both members hold two partitions each, so that each
  // reads its own share.
  await c.waitFor(
    () => one.assigned.length === 2 && two.assigned.length === 2,
    60000,
    'two members with two partitions each',
  );
  const overlap = one.assigned.filter((p) => two.assigned.includes(p));
  c.check(overlap.length === 0, `both members were assigned ${overlap}`);

  const producer = await c.idempotentProducer(kafka);
  const first = c.values('a', count);
  await c.produceAll(producer, args.topic, first);
  await c.waitFor(() => one.got.length + two.got.length >= count, 60000, `${count} records`);
  const [committed, end] = await committedAndEnd(kafka, args);
  await one.consumer.disconnect();
  await two.consumer.disconnect();
  c.checkExactly(one.got.concat(two.got), first, 'the two members read');
  for (const m of [one, two]) {
    c.check(m.got.length > 0, `member ${m.name} read nothing`);
    c.check(m.wrongPartition.length === 0, `member ${m.name} read unassigned partitions`);
  }
  c.check(committed === count && end === count, `committed ${committed}, end ${end}, want ${count}`);
  console.log(`members read ${one.got.length} + ${two.got.length}, committed ${committed}`);

  const second = c.values('b', count);
  await c.produceAll(producer, args.topic, second);
  await producer.disconnect();

  const again = await member(kafka, args, 'rejoined');
  await c.waitFor(() => again.got.length >= count, 60000, `${count} more records`);
  await new Promise((resolve) => setTimeout(resolve, 1000));
  await again.consumer.disconnect();
  c.check(again.assigned.length === 4, `rejoined member holds ${again.assigned.length} partitions`);
  c.checkExactly(again.got, second, 'the rejoined member read');
  console.log(`OK group of two read ${count}, rejoined member resumed at the committed offsets`);
}

main().catch((e) => c.fail(e.stack || e));
