// group: two members of a consumer group share a four-partition topic
// (two partitions each, each reading only its own), mark what they read
// (committed by sarama's offset manager, flushed when they close) and
// leave; a member that rejoins resumes from the committed offsets and reads
// exactly the records written after them.
package main

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/Shopify/sarama"
)

// member is one consumer group member and what it read.
type member struct {
	name     string
	group    sarama.ConsumerGroup
	cancel   context.CancelFunc
	done     chan struct{}
	mu       sync.Mutex
	assigned []int32
	got      []string
	foreign  int
}

func (m *member) Setup(s sarama.ConsumerGroupSession) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.assigned = s.Claims()[topicOf(s)]
	return nil
}

func topicOf(s sarama.ConsumerGroupSession) string {
	for t := range s.Claims() {
		return t
	}
	return ""
}

func (m *member) Cleanup(sarama.ConsumerGroupSession) error { return nil }

func (m *member) ConsumeClaim(s sarama.ConsumerGroupSession, claim sarama.ConsumerGroupClaim) error {
	for msg := range claim.Messages() {
		m.mu.Lock()
		if !contains(m.assigned, msg.Partition) {
			m.foreign++
		}
		m.got = append(m.got, string(msg.Value))
		m.mu.Unlock()
		s.MarkMessage(msg, "")
	}
	return nil
}

func contains(list []int32, v int32) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// state returns the member's assignment size and records read.
func (m *member) state() (int, []string, int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.assigned), append([]string(nil), m.got...), m.foreign
}

// join starts a member that consumes until it is stopped.
func join(a args, name string) *member {
	c := config("sarama-" + name)
	c.Consumer.Group.Heartbeat.Interval = 500 * time.Millisecond
	// Kafka's default for the Java client: a loaded machine does not expel
	// a member (whose uncommitted records the other one would read again).
	c.Consumer.Group.Session.Timeout = 45 * time.Second
	g, err := sarama.NewConsumerGroup(a.bootstrap, a.group, c)
	check(err, "consumer group")
	ctx, cancel := context.WithCancel(context.Background())
	m := &member{name: name, group: g, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(m.done)
		for ctx.Err() == nil {
			if err := g.Consume(ctx, []string{a.topic}, m); err != nil && ctx.Err() == nil {
				fmt.Printf("member %s: %v\n", name, err)
				time.Sleep(200 * time.Millisecond)
			}
		}
	}()
	return m
}

// leave stops the member; closing the group commits its marked offsets and
// sends LeaveGroup.
func (m *member) leave() {
	m.cancel()
	<-m.done
	check(m.group.Close(), "close "+m.name)
}

func consumerGroup(a args) {
	createTopic(a, 4)
	one, two := join(a, "one"), join(a, "two")
	waitFor(60*time.Second, "two members with two partitions each", func() bool {
		n1, _, _ := one.state()
		n2, _, _ := two.state()
		return n1 == 2 && n2 == 2
	})
	p := producer(a)
	first := values("a", a.count)
	produceAll(p, a.topic, first)
	waitFor(60*time.Second, "the first records", func() bool {
		_, g1, _ := one.state()
		_, g2, _ := two.state()
		return len(g1)+len(g2) >= a.count
	})
	one.leave()
	two.leave()
	_, got1, foreign1 := one.state()
	_, got2, foreign2 := two.state()
	checkExactly(append(got1, got2...), first, "the two members read")
	if len(got1) == 0 || len(got2) == 0 || foreign1+foreign2 > 0 {
		fail("members read %d and %d, %d from unassigned partitions", len(got1), len(got2), foreign1+foreign2)
	}
	if c := committed(a); c != int64(a.count) {
		fail("committed %d, want %d", c, a.count)
	}
	fmt.Printf("members read %d + %d, committed %d\n", len(got1), len(got2), a.count)

	second := values("b", a.count)
	produceAll(p, a.topic, second)
	check(p.Close(), "close producer")
	again := join(a, "rejoined")
	waitFor(60*time.Second, "the records after the commit", func() bool {
		_, g, _ := again.state()
		return len(g) >= a.count
	})
	time.Sleep(time.Second)
	again.leave()
	n, got, _ := again.state()
	if n != 4 {
		fail("rejoined member holds %d partitions, want 4", n)
	}
	checkExactly(got, second, "the rejoined member read")
	fmt.Printf("OK group of two read %d, rejoined member resumed at the committed offsets\n", a.count)
}

// committed sums the group's committed offsets on the topic.
func committed(a args) int64 {
	ca := clusterAdmin(a)
	defer ca.Close()
	offsets, err := ca.ListConsumerGroupOffsets(a.group, map[string][]int32{a.topic: {0, 1, 2, 3}})
	check(err, "list group offsets")
	var sum int64
	for _, block := range offsets.Blocks[a.topic] {
		if block.Err != sarama.ErrNoError {
			fail("offset fetch: %v", block.Err)
		}
		if block.Offset > 0 {
			sum += block.Offset
		}
	}
	return sum
}
