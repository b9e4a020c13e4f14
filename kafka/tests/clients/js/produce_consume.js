// kafkajs: an idempotent producer (acks=all) writes `--count` keyed records
// to a new three-partition topic; a consumer reads them back from the
// beginning and checks each one exactly once, with offsets increasing
// within every partition.
'use strict';

const c = require('./common');

async function main() {
  const args = c.parseArgs(['bootstrap', 'topic', 'count']);
  const count = Number(args.count);
  const kafka = c.client(args, 'kafkajs-produce-consume');
  await c.createTopic(kafka, args.topic, 3);

  const producer = await c.idempotentProducer(kafka);
  const want = c.values('v', count);
  await c.produceAll(producer, args.topic, want);
  await producer.disconnect();

  const got = [];
  const lastOffset = new Map();
  const consumer = kafka.consumer({ groupId: `${args.topic}-reader` });
  await consumer.connect();
  await consumer.subscribe({ topic: args.topic, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ partition, message }) => {
      const offset = Number(message.offset);
      const previous = lastOffset.get(partition);
      c.check(previous === undefined || offset > previous, `offsets out of order in ${partition}`);
      lastOffset.set(partition, offset);
      c.check(message.key.toString() === message.value.toString(), `key/value differ at ${offset}`);
      got.push(message.value.toString());
    },
  });
  await c.waitFor(() => got.length >= count, 60000, `${count} records`);
  // Anything read twice or extra would arrive now.
  await new Promise((resolve) => setTimeout(resolve, 1000));
  await consumer.disconnect();
  c.checkExactly(got, want, 'consumed');
  c.check(lastOffset.size === 3, `records in ${lastOffset.size} partitions, want 3`);
  console.log(`OK produced and consumed ${count}`);
}

main().catch((e) => c.fail(e.stack || e));
