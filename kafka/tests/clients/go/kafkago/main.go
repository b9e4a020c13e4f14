// Command kafkago drives segmentio kafka-go 0.2.1 (Debian's
// golang-github-segmentio-kafka-go-dev) against a Kafka cluster. That
// release speaks Produce v2 and Fetch v2 (message format v1, which Kafka 4
// removed in KIP-896 and Chronik converts as Kafka 3.x did), CreateTopics
// v0, Metadata v1, ListOffsets v1, DeleteTopics v1 and the group APIs
// (JoinGroup v1, SyncGroup v0, Heartbeat v0, OffsetCommit v2, OffsetFetch
// v1, LeaveGroup v0). Scenarios (first argument):
//
//   - metadata: the topic's partitions, leaders and replicas, and its first
//     and last offsets (records written by another client);
//   - produce-consume: create the topic (CreateTopics v0: `--bootstrap`
//     must be the controller), write `--count` records with the Writer
//     (`--codec` none, gzip, snappy or lz4), read every partition back
//     with a partition Reader: exactly those records, each once;
//   - group: two Readers of one group read `--count` records together
//     (committing each), then a third member of the group reads
//     `--count` more and none of the first ones;
//   - delete: DeleteTopics, then the topic has no partitions. kafka-go sends it to
//     the broker it is connected to: `--bootstrap` must be the controller.
//
// Each ends with a line starting "OK" or fails with one starting "FAIL".
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	kafka "github.com/segmentio/kafka-go"
)

// args are the scenarios' flags.
type args struct {
	bootstrap string
	brokers   []string
	topic     string
	group     string
	codec     string
	count     int64
}

func main() {
	if len(os.Args) < 2 {
		fail("usage: kafkago metadata|produce-consume|group|delete --bootstrap B --topic T [--group G] [--count N] [--codec C]")
	}
	fs := flag.NewFlagSet(os.Args[1], flag.ExitOnError)
	bootstrap := fs.String("bootstrap", "", "comma-separated brokers (the first is used)")
	topic := fs.String("topic", "", "topic")
	count := fs.Int64("count", 0, "records the topic holds or to write")
	group := fs.String("group", "", "consumer group")
	codec := fs.String("codec", "none", "compression: none, gzip, snappy, lz4")
	if err := fs.Parse(os.Args[2:]); err != nil {
		fail("%v", err)
	}
	brokers := strings.Split(*bootstrap, ",")
	a := args{brokers[0], brokers, *topic, *group, *codec, *count}
	switch os.Args[1] {
	case "metadata":
		metadata(a)
	case "produce-consume":
		produceConsume(a)
	case "group":
		groupScenario(a)
	case "delete":
		deleteTopic(a)
	default:
		fail("unknown scenario %q", os.Args[1])
	}
}

func fail(format string, v ...interface{}) {
	fmt.Fprintf(os.Stderr, "FAIL "+format+"\n", v...)
	os.Exit(1)
}

func check(err error, what string) {
	if err != nil {
		fail("%s: %v", what, err)
	}
}

// dialer connects with a 30-second timeout.
var dialer = &kafka.Dialer{Timeout: 30 * time.Second}

// partitions reads the topic's partitions (Metadata v1) through the
// bootstrap broker.
func partitions(a args) ([]kafka.Partition, error) {
	conn, err := dialer.Dial("tcp", a.bootstrap)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	return conn.ReadPartitions(a.topic)
}

// endOffsets sums the partitions' first and last offsets (ListOffsets v1
// to each partition's leader).
func endOffsets(a args, parts []kafka.Partition) (first, last int64) {
	for _, p := range parts {
		conn, err := dialer.DialLeader(context.Background(), "tcp", a.bootstrap, a.topic, p.ID)
		check(err, fmt.Sprintf("dial the leader of partition %d", p.ID))
		f, l, err := conn.ReadOffsets()
		conn.Close()
		check(err, fmt.Sprintf("offsets of partition %d", p.ID))
		first += f
		last += l
	}
	return first, last
}

func metadata(a args) {
	parts, err := partitions(a)
	check(err, "read partitions")
	brokers := map[int]bool{}
	for _, p := range parts {
		if len(p.Replicas) != 3 {
			fail("partition %d: replicas %v", p.ID, p.Replicas)
		}
		leads := false
		for _, r := range p.Replicas {
			brokers[r.ID] = true
			leads = leads || r.ID == p.Leader.ID
		}
		if !leads {
			fail("partition %d: leader %d not a replica", p.ID, p.Leader.ID)
		}
	}
	if len(brokers) != 3 {
		fail("replicas on %d brokers, want 3", len(brokers))
	}
	first, last := endOffsets(a, parts)
	if first != 0 || last != a.count {
		fail("offsets %d..%d, want 0..%d", first, last, a.count)
	}
	fmt.Printf("OK metadata: %d partitions on 3 brokers, offsets 0..%d\n", len(parts), last)
}

func deleteTopic(a args) {
	conn, err := dialer.Dial("tcp", a.bootstrap)
	check(err, "dial")
	check(conn.DeleteTopics(a.topic), "delete topic")
	conn.Close()
	deadline := time.Now().Add(20 * time.Second)
	for {
		// kafka-go reports a topic's error only for the connection's own
		// topic: an unknown topic comes back without partitions.
		parts, err := partitions(a)
		if err == nil && len(parts) == 0 {
			break
		}
		if time.Now().After(deadline) {
			fail("the deleted topic still has metadata (%v)", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	fmt.Println("OK topic deleted")
}
