// admin: sarama's ClusterAdmin creates a topic (and refuses to create it
// twice), the client lists it, the admin describes the cluster and the
// topic, adds partitions, lists and describes consumer groups with their
// committed offsets, and deletes the topic.
package main

import (
	"fmt"
	"sort"
	"time"

	"github.com/Shopify/sarama"
)

func admin(a args) {
	ca := clusterAdmin(a)
	defer ca.Close()
	createTopic(a, 2)
	err := ca.CreateTopic(a.topic, &sarama.TopicDetail{NumPartitions: 2, ReplicationFactor: 3}, false)
	if terr, ok := err.(*sarama.TopicError); !ok || terr.Err != sarama.ErrTopicAlreadyExists {
		fail("creating the topic twice answered %v, want TOPIC_ALREADY_EXISTS", err)
	}
	if !listed(a) {
		fail("the client's topic list misses %s", a.topic)
	}
	ids := checkCluster(ca, a, 2)
	check(ca.CreatePartitions(a.topic, 3, nil, false), "create partitions")
	waitFor(30*time.Second, "three partitions", func() bool {
		md, err := ca.DescribeTopics([]string{a.topic})
		return err == nil && len(md[0].Partitions) == 3
	})
	checkCluster(ca, a, 3)

	p := producer(a)
	produceAll(p, a.topic, values("r", 30))
	check(p.Close(), "close producer")
	m := join(a, "admin-member")
	waitFor(60*time.Second, "30 records", func() bool {
		_, got, _ := m.state()
		return len(got) >= 30
	})
	checkGroup(ca, a)
	m.leave()
	offsets, err := ca.ListConsumerGroupOffsets(a.group, map[string][]int32{a.topic: {0, 1, 2}})
	check(err, "list group offsets")
	var sum int64
	for _, block := range offsets.Blocks[a.topic] {
		sum += block.Offset
	}
	if sum != 30 {
		fail("committed %d, want 30", sum)
	}

	check(ca.DeleteTopic(a.topic), "delete topic")
	waitFor(20*time.Second, "the topic deleted", func() bool { return !listed(a) })
	fmt.Printf("OK admin: brokers %v, topic created, grown, listed, deleted; group listed, offsets fetched\n", ids)
}

// listed tells whether a new client's topic list (Metadata for all topics)
// holds the topic. ClusterAdmin.ListTopics is not used: sarama 1.22 sends
// DescribeConfigs v0 with it, which Chronik does not serve (Kafka 4.0
// removed it too, KIP-896).
func listed(a args) bool {
	client, err := sarama.NewClient(a.bootstrap, config("sarama-lister"))
	check(err, "client")
	defer client.Close()
	topics, err := client.Topics()
	check(err, "topics")
	for _, t := range topics {
		if t == a.topic {
			return true
		}
	}
	return false
}

// checkCluster checks three brokers with the controller among them, and
// that every partition of the topic has a leader among them and three
// replicas.
func checkCluster(ca sarama.ClusterAdmin, a args, partitions int) []int32 {
	// DescribeCluster asks with Metadata v0, which names no controller;
	// a client's Controller() takes it from its newer Metadata.
	brokers, _, err := ca.DescribeCluster()
	check(err, "describe cluster")
	client, err := sarama.NewClient(a.bootstrap, config("sarama-controller"))
	check(err, "client")
	defer client.Close()
	controller, err := client.Controller()
	check(err, "controller")
	var ids []int32
	for _, b := range brokers {
		ids = append(ids, b.ID())
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	if len(ids) != 3 || !contains(ids, controller.ID()) {
		fail("brokers %v, controller %d", ids, controller.ID())
	}
	md, err := ca.DescribeTopics([]string{a.topic})
	check(err, "describe topics")
	if len(md) != 1 || len(md[0].Partitions) != partitions {
		fail("metadata of %s: %+v", a.topic, md)
	}
	for _, p := range md[0].Partitions {
		if !contains(ids, p.Leader) || len(p.Replicas) != 3 {
			fail("partition %d: leader %d, replicas %v", p.ID, p.Leader, p.Replicas)
		}
	}
	return ids
}

// checkGroup checks that the group is listed as a consumer group and
// described as stable with one member.
func checkGroup(ca sarama.ClusterAdmin, a args) {
	groups, err := ca.ListConsumerGroups()
	check(err, "list groups")
	if groups[a.group] != "consumer" {
		fail("ListConsumerGroups: %v", groups)
	}
	described, err := ca.DescribeConsumerGroups([]string{a.group})
	check(err, "describe groups")
	if len(described) != 1 || described[0].State != "Stable" || len(described[0].Members) != 1 {
		fail("DescribeConsumerGroups: %+v", described)
	}
}
