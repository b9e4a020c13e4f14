// produce-consume: an idempotent producer (acks=all) writes keyed records
// to a new three-partition topic; a partition consumer per partition reads
// them back from the oldest offset up to the high watermark.
package main

import (
	"fmt"
	"time"

	"github.com/Shopify/sarama"
)

func produceConsume(a args) {
	createTopic(a, 3)
	p := producer(a)
	want := values("v", a.count)
	produceAll(p, a.topic, want)
	check(p.Close(), "close producer")

	consumer, err := sarama.NewConsumer(a.bootstrap, config("sarama-consumer"))
	check(err, "consumer")
	defer consumer.Close()
	partitions, err := consumer.Partitions(a.topic)
	check(err, "partitions")
	if len(partitions) != 3 {
		fail("%d partitions, want 3", len(partitions))
	}
	var got []string
	for _, partition := range partitions {
		got = append(got, readPartition(consumer, a.topic, partition)...)
	}
	checkExactly(got, want, "consumed")
	fmt.Printf("OK produced and consumed %d\n", a.count)
}

// readPartition reads one partition from the oldest offset to its high
// watermark, checking that offsets increase by one.
func readPartition(c sarama.Consumer, topic string, partition int32) []string {
	pc, err := c.ConsumePartition(topic, partition, sarama.OffsetOldest)
	check(err, "consume partition")
	defer pc.Close()
	var got []string
	next := int64(0)
	for next < pc.HighWaterMarkOffset() || next == 0 {
		select {
		case m := <-pc.Messages():
			if m.Offset != next {
				fail("partition %d: offset %d, want %d", partition, m.Offset, next)
			}
			if string(m.Key) != string(m.Value) {
				fail("partition %d: key and value differ at %d", partition, m.Offset)
			}
			got = append(got, string(m.Value))
			next++
		case err := <-pc.Errors():
			fail("partition %d: %v", partition, err)
		case <-time.After(30 * time.Second):
			if pc.HighWaterMarkOffset() == 0 {
				return got
			}
			fail("partition %d: nothing after offset %d", partition, next)
		}
	}
	return got
}
