// What the kafkajs client programs share: their arguments, a client,
// topic creation through the admin client, an idempotent producer and
// checks that end the program with a message.
'use strict';

const { Kafka, logLevel, Partitioners } = require('kafkajs');

// `--name value` pairs into an object; `--debug` turns on kafkajs's request
// log (it names every request's API and version).
function parseArgs(required) {
  const args = { debug: false };
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i += 1) {
    const name = argv[i].replace(/^--/, '');
    if (name === 'debug') {
      args.debug = true;
    } else {
      args[name] = argv[i + 1];
      i += 1;
    }
  }
  for (const name of required) {
    if (args[name] === undefined) {
      fail(`missing --${name}`);
    }
  }
  return args;
}

function fail(message) {
  console.error(`FAIL ${message}`);
  process.exit(1);
}

function check(condition, message) {
  if (!condition) {
    fail(message);
  }
}

function client(args, clientId) {
  return new Kafka({
    clientId,
    brokers: args.bootstrap.split(','),
    logLevel: args.debug ? logLevel.DEBUG : logLevel.WARN,
    retry: { retries: 10 },
  });
}

// Creates `topic` with `partitions` partitions on three replicas and waits
// for their leaders.
async function createTopic(kafka, topic, partitions) {
  const admin = kafka.admin();
  await admin.connect();
  const created = await admin.createTopics({
    topics: [{ topic, numPartitions: partitions, replicationFactor: 3 }],
    waitForLeaders: true,
  });
  check(created, `topic ${topic} already existed`);
  await admin.disconnect();
}

// An idempotent producer (acks=all: kafkajs's idempotent producer always
// sends acks -1) with Kafka's murmur2 partitioner.
async function idempotentProducer(kafka) {
  const producer = kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    createPartitioner: Partitioners.DefaultPartitioner,
  });
  await producer.connect();
  return producer;
}

// Sends `values` (keyed by themselves) in batches of 100 with acks=all.
async function produceAll(producer, topic, values) {
  for (let i = 0; i < values.length; i += 100) {
    const messages = values.slice(i, i + 100).map((v) => ({ key: v, value: v }));
    await producer.send({ topic, acks: -1, messages });
  }
}

// Resolves once `condition()` holds; fails after `ms` milliseconds.
async function waitFor(condition, ms, what) {
  const deadline = Date.now() + ms;
  while (!condition()) {
    check(Date.now() < deadline, `timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function values(prefix, count) {
  return Array.from({ length: count }, (_, i) => `${prefix}-${i}`);
}

// Fails unless `got` holds each of `want` exactly once.
function checkExactly(got, want, what) {
  check(got.length === want.length, `${what}: ${got.length} records, want ${want.length}`);
  const seen = new Set(got);
  check(seen.size === got.length, `${what}: duplicates among ${got.length} records`);
  for (const v of want) {
    check(seen.has(v), `${what}: ${v} missing`);
  }
}

module.exports = {
  parseArgs,
  fail,
  check,
  client,
  createTopic,
  idempotentProducer,
  produceAll,
  waitFor,
  values,
  checkExactly,
};
