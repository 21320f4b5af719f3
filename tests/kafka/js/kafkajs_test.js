// kafkajs 2.2.4 (with kafkajs-lz4) against Strata's Kafka listener:
//   - the API versions kafkajs settles on (record batches v2, timestamp lookups);
//   - produce with acks 0, 1 and -1 (all), with and without LZ4, read back byte for byte with
//     contiguous offsets; an idempotent producer; GZIP refused with UNSUPPORTED_COMPRESSION_TYPE;
//   - admin: create, describe (metadata and configs), delete topics, and the error codes
//     TOPIC_ALREADY_EXISTS, INVALID_PARTITIONS, UNKNOWN_TOPIC_OR_PARTITION;
//   - fetchTopicOffsetsByTimestamp;
//   - consumer groups: two members split a 4-partition topic, one leaving hands all partitions to
//     the other, listGroups, describeGroups and committed offsets.
//
//   cd tests/kafka/js && STRATAD=../../../build/broker/stratad node kafkajs_test.js [TEST...]
//
// Exit status 0 when every test passed. KAFKAJS_LOG=debug|info|warn|error shows kafkajs's log.
'use strict'

const assert = require('assert/strict')
const crypto = require('crypto')
const {
  Kafka,
  logLevel,
  CompressionTypes,
  CompressionCodecs,
  ConfigResourceTypes,
  AssignerProtocol,
} = require('kafkajs')
const LZ4 = require('kafkajs-lz4')
const { Broker, sleep } = require('./strata_broker')

CompressionCodecs[CompressionTypes.LZ4] = new LZ4().codec

const UNKNOWN_TOPIC_OR_PARTITION = 3
const TOPIC_ALREADY_EXISTS = 36
const INVALID_PARTITIONS = 37
const UNSUPPORTED_COMPRESSION_TYPE = 76

const LOG_LEVELS = { debug: logLevel.DEBUG, info: logLevel.INFO, warn: logLevel.WARN, error: logLevel.ERROR }

let broker
let kafka
const unique = prefix => `${prefix}-${crypto.randomBytes(4).toString('hex')}`

function client(extra = {}) {
  return new Kafka({
    clientId: 'strata-kafkajs-test',
    brokers: [broker.bootstrap],
    logLevel: LOG_LEVELS[process.env.KAFKAJS_LOG] ?? logLevel.NOTHING,
    connectionTimeout: 5000,
    requestTimeout: 15000,
    ...extra,
  })
}

// Every Kafka error code found on err, its causes, and aggregated errors.
function errorCodes(err, seen = new Set()) {
  if (!err || typeof err !== 'object' || seen.has(err)) return []
  seen.add(err)
  const out = typeof err.code === 'number' ? [err.code] : []
  for (const inner of [err.cause, err.originalError, ...(err.errors || [])]) {
    out.push(...errorCodes(inner, seen))
  }
  return out
}

async function expectKafkaError(promise, code, what) {
  let err = null
  try {
    await promise
  } catch (e) {
    err = e
  }
  assert.ok(err, `${what}: no error, expected code ${code}`)
  const codes = errorCodes(err)
  assert.ok(codes.length > 0 && codes.every(c => c === code),
    `${what}: expected Kafka error ${code}, got codes [${codes}] from ${err.name}: ${err.message}`)
  return err
}

async function withAdmin(fn, opts = {}) {
  const admin = kafka.admin(opts)
  await admin.connect()
  try {
    return await fn(admin)
  } finally {
    await admin.disconnect()
  }
}

async function createTopic(topic, numPartitions = 1) {
  await withAdmin(async admin => {
    assert.equal(await admin.createTopics({ topics: [{ topic, numPartitions }] }), true)
  })
  return topic
}

async function waitFor(predicate, timeoutMs, what) {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await predicate()
    if (value) return value
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms: ${what}`)
    await sleep(50)
  }
}

// Reads count records of each topic as a fresh consumer group from the beginning; returns
// { topic: [message...] } sorted by partition then offset.
async function consumeAll(topicsCounts, timeoutMs = 30000) {
  const consumer = kafka.consumer({ groupId: unique('reader'), sessionTimeout: 6000, heartbeatInterval: 500, maxWaitTimeInMs: 200 })
  const got = {}
  for (const t of Object.keys(topicsCounts)) got[t] = []
  await consumer.connect()
  try {
    await consumer.subscribe({ topics: Object.keys(topicsCounts), fromBeginning: true })
    await consumer.run({
      eachMessage: async ({ topic, partition, message }) => {
        got[topic].push({ partition, ...message })
      },
    })
    await waitFor(() => Object.entries(topicsCounts).every(([t, n]) => got[t].length >= n),
      timeoutMs, `records of ${JSON.stringify(topicsCounts)}; got ${JSON.stringify(Object.fromEntries(Object.entries(got).map(([t, m]) => [t, m.length])))}`)
    await sleep(300) // anything past the count would be a duplicate or an extra record
  } finally {
    await consumer.disconnect()
  }
  for (const t of Object.keys(got)) {
    got[t].sort((a, b) => a.partition - b.partition || Number(a.offset) - Number(b.offset))
  }
  return got
}

function sampleMessages(n, seed) {
  let x = seed >>> 0 || 1
  const rnd = k => {
    x ^= x << 13
    x >>>= 0
    x ^= x >>> 17
    x ^= x << 5
    x >>>= 0
    return x % k
  }
  const out = []
  for (let i = 0; i < n; i++) {
    const len = i % 3 === 0 ? 0 : rnd(2000)
    const value = i % 5 === 1 ? Buffer.from('compressible '.repeat(1 + rnd(200))) : Buffer.alloc(len)
    if (i % 5 !== 1) for (let j = 0; j < len; j++) value[j] = rnd(256)
    out.push({
      key: i % 4 === 0 ? null : Buffer.from(`k${i}`),
      value,
      headers: i % 2 ? { n: Buffer.from(String(i)), bin: Buffer.from([i % 256, 0, 255]) } : {},
    })
  }
  out[Math.floor(n / 2)].value = Buffer.alloc(250000, 0xab)
  return out
}

// --- the tests ------------------------------------------------------------------------------------

const tests = {}

tests.negotiatedVersions = async () => {
  const used = {}
  const producer = kafka.producer()
  producer.on(producer.events.REQUEST, ({ payload }) => { used[payload.apiName] = payload.apiVersion })
  const admin = kafka.admin()
  admin.on(admin.events.REQUEST, ({ payload }) => { used[payload.apiName] = payload.apiVersion })
  await producer.connect()
  await admin.connect()
  try {
    const topic = await createTopic(unique('neg'))
    await producer.send({ topic, messages: [{ value: 'x' }] })
    await admin.fetchTopicOffsetsByTimestamp(topic, Date.now() - 60000)
    const cluster = await admin.describeCluster()
    assert.deepEqual(cluster.brokers.map(b => `${b.host}:${b.port}`), [broker.bootstrap])
  } finally {
    await producer.disconnect()
    await admin.disconnect()
  }
  // kafkajs asks ApiVersions v2 first; v3+ Produce carries record batches v2 (headers, KIP-98
  // producer ids), ListOffsets v1+ looks up timestamps.
  assert.equal(used.ApiVersions, 2, `versions used: ${JSON.stringify(used)}`)
  assert.ok(used.Produce >= 3, `Produce v${used.Produce}`)
  assert.ok(used.ListOffsets >= 1, `ListOffsets v${used.ListOffsets}`)
  assert.ok(used.Metadata >= 1, `Metadata v${used.Metadata}`)
}

tests.produceConsumeAcksAndLz4 = async () => {
  const combos = []
  for (const acks of [0, 1, -1]) {
    for (const compression of [CompressionTypes.None, CompressionTypes.LZ4]) {
      combos.push({ acks, compression, topic: unique(`js-${acks}-${compression}`) })
    }
  }
  const producer = kafka.producer()
  await producer.connect()
  const wanted = {}
  try {
    for (const c of combos) {
      await createTopic(c.topic)
      const messages = sampleMessages(240, c.acks * 10 + c.compression + 100)
      wanted[c.topic] = messages
      let next = 0
      for (let i = 0; i < messages.length; i += 40) {
        const result = await producer.send({
          topic: c.topic,
          acks: c.acks,
          compression: c.compression,
          messages: messages.slice(i, i + 40).map(m => ({ ...m, partition: 0 })),
        })
        if (c.acks !== 0) {
          assert.equal(result.length, 1)
          assert.equal(result[0].errorCode, 0)
          assert.equal(result[0].baseOffset, String(next), `${c.topic}: base offset`)
        }
        next += 40
      }
    }
  } finally {
    await producer.disconnect()
  }
  const got = await consumeAll(Object.fromEntries(combos.map(c => [c.topic, wanted[c.topic].length])))
  for (const c of combos) {
    const msgs = got[c.topic]
    const want = wanted[c.topic]
    assert.deepEqual(msgs.map(m => Number(m.offset)), want.map((_, i) => i), `${c.topic}: offsets`)
    msgs.forEach((m, i) => {
      assert.deepEqual(m.key, want[i].key, `${c.topic} offset ${i}: key`)
      assert.ok(m.value.equals(want[i].value), `${c.topic} offset ${i}: value`)
      assert.deepEqual(m.headers, want[i].headers, `${c.topic} offset ${i}: headers`)
    })
  }
}

tests.idempotentProducer = async () => {
  const topic = await createTopic(unique('js-idem'), 2)
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 })
  await producer.connect()
  const n = 2000
  try {
    for (let i = 0; i < n; i += 100) {
      const messages = []
      for (let j = i; j < i + 100; j++) messages.push({ key: `k${j % 13}`, value: `v${j}` })
      const result = await producer.send({ topic, acks: -1, compression: CompressionTypes.LZ4, messages })
      for (const r of result) assert.equal(r.errorCode, 0)
    }
  } finally {
    await producer.disconnect()
  }
  const offsets = await withAdmin(admin => admin.fetchTopicOffsets(topic))
  assert.equal(offsets.reduce((s, p) => s + Number(p.high), 0), n, JSON.stringify(offsets))
  const got = await consumeAll({ [topic]: n })
  const values = got[topic].map(m => m.value.toString()).sort()
  assert.deepEqual(values, Array.from({ length: n }, (_, i) => `v${i}`).sort())
}

tests.gzipRefused = async () => {
  const topic = await createTopic(unique('js-gzip'))
  const producer = kafka.producer({ retry: { retries: 0 } })
  await producer.connect()
  try {
    await expectKafkaError(
      producer.send({ topic, compression: CompressionTypes.GZIP, messages: [{ value: 'hello '.repeat(50) }] }),
      UNSUPPORTED_COMPRESSION_TYPE, 'GZIP produce')
  } finally {
    await producer.disconnect()
  }
  const offsets = await withAdmin(admin => admin.fetchTopicOffsets(topic))
  assert.deepEqual(offsets.map(p => p.high), ['0'])
}

tests.adminTopics = async () => {
  await withAdmin(async admin => {
    const topic = unique('js-adm')
    assert.equal(await admin.createTopics({ topics: [{ topic, numPartitions: 3 }] }), true)
    const { brokers } = await admin.describeCluster()
    const md = await admin.fetchTopicMetadata({ topics: [topic] })
    assert.equal(md.topics.length, 1)
    assert.deepEqual(md.topics[0].partitions.map(p => p.partitionId).sort(), [0, 1, 2])
    for (const p of md.topics[0].partitions) {
      assert.equal(p.partitionErrorCode, 0)
      assert.equal(p.leader, brokers[0].nodeId)
    }
    assert.ok((await admin.listTopics()).includes(topic))

    const cfg = await admin.describeConfigs({
      resources: [{ type: ConfigResourceTypes.TOPIC, name: topic }],
      includeSynonyms: false,
    })
    assert.equal(cfg.resources.length, 1)
    assert.equal(cfg.resources[0].errorCode, 0)
    assert.equal(cfg.resources[0].resourceName, topic)
    const entries = Object.fromEntries(cfg.resources[0].configEntries.map(e => [e.configName, e.configValue]))
    assert.equal(entries['cleanup.policy'], 'delete', JSON.stringify(entries))

    // kafkajs resolves false exactly when every error is TOPIC_ALREADY_EXISTS.
    assert.equal(await admin.createTopics({ topics: [{ topic, numPartitions: 3 }] }), false)

    await admin.deleteTopics({ topics: [topic] })
    assert.ok(!(await admin.listTopics()).includes(topic))
  })
  // The error cases, without retries.
  await withAdmin(async admin => {
    const zero = unique('js-zero')
    await expectKafkaError(admin.createTopics({ topics: [{ topic: zero, numPartitions: 0 }] }),
      INVALID_PARTITIONS, 'numPartitions 0')
    await expectKafkaError(admin.createTopics({ topics: [{ topic: unique('js-neg'), numPartitions: -5 }] }),
      INVALID_PARTITIONS, 'numPartitions -5')
    assert.ok(!(await admin.listTopics()).includes(zero))
    await expectKafkaError(admin.deleteTopics({ topics: [unique('js-nosuch')] }),
      UNKNOWN_TOPIC_OR_PARTITION, 'deleting an unknown topic')
    const missing = unique('js-nosuch')
    await expectKafkaError(admin.fetchTopicMetadata({ topics: [missing] }),
      UNKNOWN_TOPIC_OR_PARTITION, 'metadata of an unknown topic')
    assert.ok(!(await admin.listTopics()).includes(missing))
  }, { retry: { retries: 0 } })
}

tests.produceUnknownTopic = async () => {
  const producer = kafka.producer({ allowAutoTopicCreation: false, retry: { retries: 0 } })
  await producer.connect()
  const topic = unique('js-nosuch')
  try {
    await expectKafkaError(producer.send({ topic, messages: [{ value: 'x' }] }),
      UNKNOWN_TOPIC_OR_PARTITION, 'producing to an unknown topic')
  } finally {
    await producer.disconnect()
  }
  assert.ok(!(await withAdmin(admin => admin.listTopics())).includes(topic))
}

tests.fetchOutOfRange = async () => {
  // kafkajs recovers from OFFSET_OUT_OF_RANGE by itself: only a Fetch answer with code 1 makes it
  // log "Offset out of range, resetting to default offset" (consumerGroup.js) and go back to
  // the default offset (here the earliest), so both are what the test looks for.
  const topic = await createTopic(unique('js-oor'))
  const producer = kafka.producer()
  await producer.connect()
  await producer.send({ topic, messages: Array.from({ length: 10 }, (_, i) => ({ value: `v${i}` })) })
  await producer.disconnect()
  const resets = []
  const logged = new Kafka({
    clientId: 'strata-kafkajs-oor',
    brokers: [broker.bootstrap],
    logLevel: logLevel.ERROR,
    logCreator: () => ({ namespace, level, log }) => {
      if (log.message === 'Offset out of range, resetting to default offset') resets.push(log)
      if (process.env.KAFKAJS_LOG) console.error(JSON.stringify({ namespace, level, ...log }))
    },
  })
  const consumer = logged.consumer({ groupId: unique('oor'), sessionTimeout: 6000, heartbeatInterval: 500, maxWaitTimeInMs: 200 })
  const seen = []
  const crashes = []
  consumer.on(consumer.events.CRASH, ({ payload }) => crashes.push(payload.error))
  await consumer.connect()
  try {
    await consumer.subscribe({ topics: [topic], fromBeginning: true })
    await consumer.run({ eachMessage: async ({ message }) => { seen.push(Number(message.offset)) } })
    await waitFor(() => seen.length >= 10, 20000, 'the 10 records')
    assert.deepEqual(seen, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
    consumer.seek({ topic, partition: 0, offset: '1000' })
    await waitFor(() => resets.length > 0, 20000, 'OFFSET_OUT_OF_RANGE for offset 1000 of 10')
    // The reset commits the offset -2 (kafkajs's "earliest", offsetManager.setDefaultOffset),
    // which Kafka stores as given, then reads from the earliest offset again.
    await waitFor(() => seen.length >= 20 || crashes.length > 0, 20000, 'the records again from the earliest offset')
    assert.deepEqual(crashes.map(e => `${e.name} (code ${errorCodes(e)}): ${e.message}`), [],
      'the consumer crashed recovering from OFFSET_OUT_OF_RANGE')
  } finally {
    await consumer.disconnect()
  }
  assert.equal(resets[0].topic, topic)
  assert.equal(resets[0].partition, 0)
  assert.deepEqual(seen.slice(10, 20), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
}

tests.offsetsByTimestamp = async () => {
  const topic = await createTopic(unique('js-ts'), 2)
  // An hour ago: records older than the retention (7 days) would be deleted mid-test.
  const base = Math.floor((Date.now() - 3600000) / 1000) * 1000
  const producer = kafka.producer()
  await producer.connect()
  try {
    for (const [partition, shift] of [[0, 0], [1, 500]]) {
      for (let i = 0; i < 20; i += 5) {
        const messages = []
        for (let j = i; j < i + 5; j++) {
          messages.push({ partition, value: `v${j}`, timestamp: String(base + shift + Math.floor(j / 2) * 1000) })
        }
        await producer.send({ topic, messages })
      }
    }
  } finally {
    await producer.disconnect()
  }
  // kafkajs answers a timestamp past the last record with the high watermark (20), where
  // ListOffsets itself says -1.
  const cases = [[base - 1, [0, 0]], [base, [0, 0]], [base + 1, [2, 0]], [base + 500, [2, 0]],
    [base + 501, [2, 2]], [base + 9000, [18, 18]], [base + 9500, [20, 18]], [base + 9501, [20, 20]]]
  await withAdmin(async admin => {
    for (const [ts, want] of cases) {
      const got = await admin.fetchTopicOffsetsByTimestamp(topic, ts)
      got.sort((a, b) => a.partition - b.partition)
      assert.deepEqual(got.map(p => Number(p.offset)), want, `timestamp ${ts}`)
    }
  })
}

tests.consumerGroupRebalance = async () => {
  const topic = await createTopic(unique('js-grp'), 4)
  const groupId = unique('jsgrp')
  const assignments = {} // member name -> sorted partitions of its latest join
  const received = { a: [], b: [] }
  const member = name => {
    const c = kafka.consumer({ groupId, sessionTimeout: 6000, rebalanceTimeout: 10000, heartbeatInterval: 300, maxWaitTimeInMs: 200 })
    c.on(c.events.GROUP_JOIN, ({ payload }) => {
      assignments[name] = (payload.memberAssignment[topic] || []).slice().sort()
    })
    return c
  }
  const a = member('a')
  const b = member('b')
  const split = () => assignments.a && assignments.b && assignments.a.length === 2 &&
    assignments.b.length === 2 && [...assignments.a, ...assignments.b].sort().join() === '0,1,2,3'
  try {
    await a.connect()
    await a.subscribe({ topics: [topic], fromBeginning: true })
    await a.run({ eachMessage: async ({ partition, message }) => { received.a.push([partition, Number(message.offset)]) } })
    await waitFor(() => assignments.a && assignments.a.length === 4, 20000, 'a alone holds all 4 partitions')

    await b.connect()
    await b.subscribe({ topics: [topic], fromBeginning: true })
    await b.run({ eachMessage: async ({ partition, message }) => { received.b.push([partition, Number(message.offset)]) } })
    await waitFor(split, 30000, `two members split 4 partitions 2 and 2: ${JSON.stringify(assignments)}`)

    await withAdmin(async admin => {
      const { groups } = await admin.listGroups()
      assert.deepEqual(groups.filter(g => g.groupId === groupId), [{ groupId, protocolType: 'consumer' }])
      const desc = await admin.describeGroups([groupId])
      assert.equal(desc.groups.length, 1)
      const g = desc.groups[0]
      assert.equal(g.errorCode, 0)
      assert.equal(g.state, 'Stable')
      assert.equal(g.protocolType, 'consumer')
      assert.equal(g.protocol, 'RoundRobinAssigner')
      assert.equal(g.members.length, 2)
      const parts = g.members.map(m => AssignerProtocol.MemberAssignment.decode(m.memberAssignment).assignment[topic].slice().sort())
      assert.deepEqual(parts.flat().sort(), [0, 1, 2, 3])
    })

    // Two records per partition; each goes to the member holding its partition, once.
    const producer = kafka.producer()
    await producer.connect()
    await producer.send({ topic, messages: [0, 1, 2, 3, 0, 1, 2, 3].map((p, i) => ({ partition: p, value: `v${i}` })) })
    await producer.disconnect()
    await waitFor(() => received.a.length + received.b.length >= 8, 20000, 'the 8 records')
    for (const [name, got] of Object.entries(received)) {
      for (const [p] of got) assert.ok(assignments[name].includes(p), `${name} got partition ${p}`)
    }
    assert.deepEqual([...received.a, ...received.b].map(([p, o]) => `${p}:${o}`).sort(),
      ['0:0', '0:1', '1:0', '1:1', '2:0', '2:1', '3:0', '3:1'])

    // b leaves: a rebalances and gets all four.
    await b.disconnect()
    await waitFor(() => assignments.a.length === 4, 20000, `a takes all partitions after b left: ${JSON.stringify(assignments)}`)
    await withAdmin(async admin => {
      const { groups: [g] } = await admin.describeGroups([groupId])
      assert.equal(g.state, 'Stable')
      assert.equal(g.members.length, 1)
    })
  } finally {
    await b.disconnect()
    await a.disconnect()
  }
  // Committed as consumed: offset 2 on every partition.
  await withAdmin(async admin => {
    const [{ partitions }] = await admin.fetchOffsets({ groupId, topics: [topic] })
    partitions.sort((x, y) => x.partition - y.partition)
    assert.deepEqual(partitions.map(p => p.offset), ['2', '2', '2', '2'])
    const { groups: [g] } = await admin.describeGroups([groupId])
    assert.equal(g.state, 'Empty')
  })
}

// --- the runner -----------------------------------------------------------------------------------

async function main() {
  const only = process.argv.slice(2)
  const names = Object.keys(tests).filter(n => only.length === 0 || only.includes(n))
  if (names.length === 0) {
    console.error(`no such test; tests: ${Object.keys(tests).join(' ')}`)
    return 2
  }
  broker = await new Broker().start()
  kafka = client()
  let failed = 0
  try {
    for (const name of names) {
      const t0 = Date.now()
      try {
        assert.ok(broker.alive(), `stratad died in an earlier test\n${broker.logTail()}`)
        await Promise.race([
          tests[name](),
          sleep(90000).then(() => { throw new Error('test timed out after 90 s') }),
        ])
        console.log(`ok   ${name} (${Date.now() - t0} ms)`)
      } catch (e) {
        failed++
        console.log(`FAIL ${name} (${Date.now() - t0} ms)\n${e.stack || e}`)
      }
    }
  } finally {
    try {
      await broker.stop()
    } catch (e) {
      failed++
      console.log(`FAIL broker: ${e.message}`)
    }
  }
  console.log(failed ? `${failed} failure(s)` : `all ${names.length} tests passed`)
  return failed ? 1 : 0
}

main().then(code => process.exit(code), e => {
  console.error(e.stack || e)
  if (broker) broker.stop().catch(() => {}).finally(() => process.exit(1))
  else process.exit(1)
})
