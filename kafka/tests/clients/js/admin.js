// kafkajs admin client: create a topic (and refuse to create it twice),
// cluster and topic metadata, more partitions, list and describe groups,
// fetch and set a group's committed offsets, delete the topic.
'use strict';

const c = require('./common');

async function metadata(admin, topic) {
  const { topics } = await admin.fetchTopicMetadata({ topics: [topic] });
  return topics[0];
}

// Checks the cluster and the topic's partitions: every partition has a
// leader among the three brokers and three replicas.
async function checkMetadata(admin, topic, partitions) {
  const cluster = await admin.describeCluster();
  const ids = cluster.brokers.map((b) => b.nodeId).sort();
  c.check(ids.length === 3, `brokers ${JSON.stringify(cluster.brokers)}`);
  c.check(ids.includes(cluster.controller), `controller ${cluster.controller} not a broker`);
  const md = await metadata(admin, topic);
  c.check(md.partitions.length === partitions, `${md.partitions.length} partitions`);
  for (const p of md.partitions) {
    c.check(ids.includes(p.leader), `partition ${p.partitionId} leader ${p.leader}`);
    c.check(p.replicas.length === 3, `partition ${p.partitionId} replicas ${p.replicas}`);
  }
  return ids;
}

// Reads `count` records with the group and commits them.
async function consumeWithGroup(kafka, args, count) {
  const consumer = kafka.consumer({ groupId: args.group });
  let got = 0;
  await consumer.connect();
  await consumer.subscribe({ topic: args.topic, fromBeginning: true });
  await consumer.run({ autoCommitThreshold: 1, eachMessage: async () => { got += 1; } });
  await c.waitFor(() => got >= count, 60000, `${count} records`);
  return consumer;
}

async function committed(admin, args) {
  const [t] = await admin.fetchOffsets({ groupId: args.group, topics: [args.topic] });
  return t.partitions.reduce((s, p) => s + Math.max(Number(p.offset), 0), 0);
}

async function main() {
  const args = c.parseArgs(['bootstrap', 'topic', 'group']);
  const kafka = c.client(args, 'kafkajs-admin');
  const admin = kafka.admin();
  await admin.connect();

  c.check(
    await admin.createTopics({
      topics: [{ topic: args.topic, numPartitions: 2, replicationFactor: 3 }],
      waitForLeaders: true,
    }),
    'createTopics did not create the topic',
  );
  const again = await admin.createTopics({ topics: [{ topic: args.topic, numPartitions: 2 }] });
  c.check(again === false, 'creating the topic twice did not answer that it exists');
  c.check((await admin.listTopics()).includes(args.topic), 'listTopics misses the topic');
  await checkMetadata(admin, args.topic, 2);
  await admin.createPartitions({ topicPartitions: [{ topic: args.topic, count: 3 }] });
  const ids = await checkMetadata(admin, args.topic, 3);

  const producer = await c.idempotentProducer(kafka);
  await c.produceAll(producer, args.topic, c.values('r', 30));
  await producer.disconnect();
  const ends = await admin.fetchTopicOffsets(args.topic);
  c.check(ends.reduce((s, p) => s + Number(p.high), 0) === 30, `ends ${JSON.stringify(ends)}`);

  const consumer = await consumeWithGroup(kafka, args, 30);
  const { groups } = await admin.listGroups();
  const listed = groups.find((g) => g.groupId === args.group);
  c.check(listed && listed.protocolType === 'consumer', `listGroups ${JSON.stringify(groups)}`);
  const described = await admin.describeGroups([args.group]);
  const group = described.groups[0];
  c.check(group.state === 'Stable' && group.members.length === 1, `group ${group.state}`);
  await consumer.disconnect();
  let sum = 0;
  const deadline = Date.now() + 20000;
  while ((sum = await committed(admin, args)) !== 30 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  c.check(sum === 30, `committed ${sum}, want 30`);
  await admin.setOffsets({
    groupId: args.group,
    topic: args.topic,
    partitions: [0, 1, 2].map((partition) => ({ partition, offset: '0' })),
  });
  c.check((await committed(admin, args)) === 0, 'setOffsets did not reset the offsets');

  await admin.deleteTopics({ topics: [args.topic] });
  const gone = Date.now() + 20000;
  while ((await admin.listTopics()).includes(args.topic)) {
    c.check(Date.now() < gone, 'the deleted topic is still listed');
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  await admin.disconnect();
  console.log(`OK admin: brokers ${ids}, topic created, grown, listed, deleted; group listed, offsets fetched and set`);
}

main().catch((e) => c.fail(e.stack || e));
