// Writing and reading records with kafka-go 0.2.1: topic creation
// (CreateTopics v0), the Writer (Produce v2), partition Readers and group
// Readers (Fetch v2, the group APIs).
package main

import (
	"context"
	"fmt"
	"sync"
	"time"

	kafka "github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/gzip"
	"github.com/segmentio/kafka-go/lz4"
	"github.com/segmentio/kafka-go/snappy"
)

// createTopic creates the topic with three replicas (CreateTopics v0 to
// the bootstrap broker) and waits until every partition has a leader.
func createTopic(a args, count int) {
	conn, err := dialer.Dial("tcp", a.bootstrap)
	check(err, "dial")
	err = conn.CreateTopics(kafka.TopicConfig{
		Topic: a.topic, NumPartitions: count, ReplicationFactor: 3,
	})
	conn.Close()
	check(err, "create topic")
	deadline := time.Now().Add(30 * time.Second)
	for {
		parts, err := partitions(a)
		if err == nil && len(parts) == count && leaders(parts) {
			return
		}
		if time.Now().After(deadline) {
			fail("partitions of the new topic: %v (%v)", parts, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func partitions_(a args) ([]kafka.Partition, error) { return partitions(a) }

func leaders(parts []kafka.Partition) bool {
	for _, p := range parts {
		if p.Leader.ID < 0 || p.Leader.Host == "" {
			return false
		}
	}
	return true
}

func codecOf(name string) kafka.CompressionCodec {
	switch name {
	case "none", "":
		return nil
	case "gzip":
		return gzip.NewCompressionCodec()
	case "snappy":
		return snappy.NewCompressionCodec()
	case "lz4":
		return lz4.NewCompressionCodec()
	}
	fail("unknown codec %q", name)
	return nil
}

// write sends values from..to-1 ("v-<i>", keyed "k-<i>") with the Writer.
func write(a args, from, to int64) {
	w := kafka.NewWriter(kafka.WriterConfig{
		Brokers:          a.brokers,
		Topic:            a.topic,
		Dialer:           dialer,
		BatchSize:        100,
		BatchTimeout:     10 * time.Millisecond,
		RequiredAcks:     -1,
		CompressionCodec: codecOf(a.codec),
	})
	defer w.Close()
	for i := from; i < to; i += 100 {
		var msgs []kafka.Message
		for j := i; j < to && j < i+100; j++ {
			msgs = append(msgs, kafka.Message{
				Key: []byte(fmt.Sprintf("k-%d", j)), Value: []byte(fmt.Sprintf("v-%d", j)),
			})
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		check(w.WriteMessages(ctx, msgs...), fmt.Sprintf("write records %d..", i))
		cancel()
	}
}

// seen records the values read, failing on a value read twice when
// `exact`, or on one outside from..to-1.
type seen struct {
	sync.Mutex
	values   map[string]bool
	from, to int64
}

func newSeen(from, to int64) *seen {
	return &seen{values: map[string]bool{}, from: from, to: to}
}

// add records m; the count of distinct values so far.
func (s *seen) add(m kafka.Message, exact bool) int64 {
	s.Lock()
	defer s.Unlock()
	var i int64
	if _, err := fmt.Sscanf(string(m.Value), "v-%d", &i); err != nil || i < s.from || i >= s.to {
		fail("unexpected record %q at %d/%d", m.Value, m.Partition, m.Offset)
	}
	if string(m.Key) != fmt.Sprintf("k-%d", i) {
		fail("record %q has key %q", m.Value, m.Key)
	}
	if exact && s.values[string(m.Value)] {
		fail("record %q read twice", m.Value)
	}
	s.values[string(m.Value)] = true
	return int64(len(s.values))
}

func produceConsume(a args) {
	createTopic(a, 3)
	write(a, 0, a.count)
	parts, err := partitions(a)
	check(err, "read partitions")
	_, last := endOffsets(a, parts)
	if last != a.count {
		fail("partitions end at %d in total, want %d", last, a.count)
	}
	s := newSeen(0, a.count)
	for _, p := range parts {
		conn, err := dialer.DialLeader(context.Background(), "tcp", a.bootstrap, a.topic, p.ID)
		check(err, "dial leader")
		_, end, err := conn.ReadOffsets()
		conn.Close()
		check(err, "offsets")
		r := kafka.NewReader(kafka.ReaderConfig{
			Brokers: a.brokers, Topic: a.topic, Partition: p.ID, Dialer: dialer,
			MinBytes: 1, MaxBytes: 64 * 1024, MaxWait: 200 * time.Millisecond,
		})
		check(r.SetOffset(0), "set offset")
		for next := int64(0); next < end; next++ {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			m, err := r.ReadMessage(ctx)
			cancel()
			check(err, fmt.Sprintf("read partition %d at %d", p.ID, next))
			if m.Offset != next {
				fail("partition %d: offset %d, want %d", p.ID, m.Offset, next)
			}
			s.add(m, true)
		}
		r.Close()
	}
	if int64(len(s.values)) != a.count {
		fail("read %d records, want %d", len(s.values), a.count)
	}
	fmt.Printf("OK produced and consumed %d (%s)\n", a.count, a.codec)
}

// readGroup reads with `members` Readers of the group until `want`
// distinct records from..to-1 were read, committing each.
func readGroup(a args, members int, s *seen, want int64) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	var readers []*kafka.Reader
	var wg sync.WaitGroup
	done := make(chan struct{})
	var once sync.Once
	for i := 0; i < members; i++ {
		r := kafka.NewReader(kafka.ReaderConfig{
			Brokers: a.brokers, Topic: a.topic, GroupID: a.group, Dialer: dialer,
			MinBytes: 1, MaxBytes: 64 * 1024, MaxWait: 200 * time.Millisecond,
			HeartbeatInterval: time.Second, SessionTimeout: 10 * time.Second,
		})
		readers = append(readers, r)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				m, err := r.ReadMessage(ctx)
				if err != nil {
					select {
					case <-done:
						return
					default:
						fail("group read: %v", err)
					}
				}
				if s.add(m, false) >= want {
					once.Do(func() { close(done) })
				}
			}
		}()
	}
	select {
	case <-done:
	case <-ctx.Done():
		fail("group read %d of %d records", len(s.values), want)
	}
	cancel()
	for _, r := range readers {
		r.Close()
	}
	wg.Wait()
}

func groupScenario(a args) {
	createTopic(a, 3)
	write(a, 0, a.count)
	readGroup(a, 2, newSeen(0, a.count), a.count)
	// The group committed every record read: a member joining now starts
	// from the committed offsets and sees only the new records.
	write(a, a.count, 2*a.count)
	readGroup(a, 1, newSeen(a.count, 2*a.count), a.count)
	fmt.Printf("OK group of two read %d, the rejoining member resumed and read %d\n", a.count, a.count)
}
