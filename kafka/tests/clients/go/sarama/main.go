// Command sarama drives Shopify sarama (Debian's
// golang-github-shopify-sarama-dev) against a Kafka cluster: one scenario
// per first argument (produce-consume, group, admin), each ending with a
// line starting "OK" or failing with a line starting "FAIL".
package main

import (
	"flag"
	"fmt"
	"log"
	"os"
	"strings"
	"time"

	"github.com/Shopify/sarama"
)

// args are the scenarios' flags.
type args struct {
	bootstrap []string
	topic     string
	group     string
	count     int
}

func main() {
	if len(os.Args) < 2 {
		fail("usage: sarama produce-consume|group|admin --bootstrap B --topic T [--group G] [--count N] [--debug]")
	}
	fs := flag.NewFlagSet(os.Args[1], flag.ExitOnError)
	bootstrap := fs.String("bootstrap", "", "comma-separated brokers")
	topic := fs.String("topic", "", "topic")
	group := fs.String("group", "", "consumer group")
	count := fs.Int("count", 100, "records")
	debug := fs.Bool("debug", false, "sarama's log on stderr")
	if err := fs.Parse(os.Args[2:]); err != nil {
		fail("%v", err)
	}
	if *debug {
		sarama.Logger = log.New(os.Stderr, "[sarama] ", log.LstdFlags)
	}
	a := args{strings.Split(*bootstrap, ","), *topic, *group, *count}
	switch os.Args[1] {
	case "produce-consume":
		produceConsume(a)
	case "group":
		consumerGroup(a)
	case "admin":
		admin(a)
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

// config is sarama's configuration for Kafka 2.1 protocol versions.
func config(clientID string) *sarama.Config {
	c := sarama.NewConfig()
	c.ClientID = clientID
	c.Version = sarama.V2_1_0_0
	c.Metadata.Retry.Max = 20
	c.Metadata.Retry.Backoff = 250 * time.Millisecond
	c.Consumer.Offsets.Initial = sarama.OffsetOldest
	c.Consumer.Offsets.CommitInterval = 100 * time.Millisecond
	// With a retention time sarama commits with OffsetCommit v2 (Kafka's
	// offsets.retention.minutes default); without one it sends v1, which
	// Chronik does not serve (Kafka 4.0 removed it too, KIP-896).
	c.Consumer.Offsets.Retention = 7 * 24 * time.Hour
	return c
}

// clusterAdmin connects the admin client.
func clusterAdmin(a args) sarama.ClusterAdmin {
	ca, err := sarama.NewClusterAdmin(a.bootstrap, config("sarama-admin"))
	check(err, "admin client")
	return ca
}

// createTopic creates the topic with three replicas and waits until every
// partition has a leader.
func createTopic(a args, partitions int32) {
	ca := clusterAdmin(a)
	defer ca.Close()
	detail := &sarama.TopicDetail{NumPartitions: partitions, ReplicationFactor: 3}
	check(ca.CreateTopic(a.topic, detail, false), "create topic")
	waitFor(30*time.Second, "partition leaders", func() bool {
		md, err := ca.DescribeTopics([]string{a.topic})
		if err != nil || len(md) != 1 || len(md[0].Partitions) != int(partitions) {
			return false
		}
		for _, p := range md[0].Partitions {
			if p.Err != sarama.ErrNoError || p.Leader < 0 {
				return false
			}
		}
		return true
	})
}

// producer is an idempotent synchronous producer with acks=all.
func producer(a args) sarama.SyncProducer {
	c := config("sarama-producer")
	c.Producer.RequiredAcks = sarama.WaitForAll
	c.Producer.Idempotent = true
	c.Producer.Retry.Max = 10
	c.Producer.Return.Successes = true
	c.Net.MaxOpenRequests = 1
	p, err := sarama.NewSyncProducer(a.bootstrap, c)
	check(err, "producer")
	return p
}

// produceAll sends `values` keyed by themselves, in batches of 100.
func produceAll(p sarama.SyncProducer, topic string, values []string) {
	for i := 0; i < len(values); i += 100 {
		var batch []*sarama.ProducerMessage
		for _, v := range values[i:min(i+100, len(values))] {
			batch = append(batch, &sarama.ProducerMessage{
				Topic: topic, Key: sarama.StringEncoder(v), Value: sarama.StringEncoder(v),
			})
		}
		check(p.SendMessages(batch), "produce")
	}
}

func min(a, b int) int {
	if a < b {
		return a
	}
	return b
}

func values(prefix string, count int) []string {
	out := make([]string, count)
	for i := range out {
		out[i] = fmt.Sprintf("%s-%d", prefix, i)
	}
	return out
}

// waitFor polls `cond` every 100 ms and fails after `d`.
func waitFor(d time.Duration, what string, cond func() bool) {
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			fail("timed out waiting for %s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// checkExactly fails unless `got` holds each of `want` exactly once.
func checkExactly(got, want []string, what string) {
	if len(got) != len(want) {
		fail("%s: %d records, want %d", what, len(got), len(want))
	}
	seen := map[string]bool{}
	for _, v := range got {
		if seen[v] {
			fail("%s: %s twice", what, v)
		}
		seen[v] = true
	}
	for _, v := range want {
		if !seen[v] {
			fail("%s: %s missing", what, v)
		}
	}
}
