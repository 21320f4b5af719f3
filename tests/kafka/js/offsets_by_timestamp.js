// Prints, as one JSON object, what kafkajs's admin.fetchTopicOffsetsByTimestamp answers for each
// timestamp: { "<ts>": { "<partition>": offset, ... }, ... }. Used by
// tests/kafka/test_cross_protocol.py to compare kafkajs with the other clients.
//
//   node offsets_by_timestamp.js HOST:PORT TOPIC TS [TS...]
'use strict'

const { Kafka, logLevel } = require('kafkajs')

async function main() {
  const [bootstrap, topic, ...stamps] = process.argv.slice(2)
  if (!bootstrap || !topic || stamps.length === 0) {
    console.error('usage: node offsets_by_timestamp.js HOST:PORT TOPIC TS [TS...]')
    return 2
  }
  const kafka = new Kafka({ clientId: 'strata-offsets-by-ts', brokers: [bootstrap], logLevel: logLevel.NOTHING })
  const admin = kafka.admin()
  await admin.connect()
  const out = {}
  try {
    for (const ts of stamps) {
      const got = await admin.fetchTopicOffsetsByTimestamp(topic, Number(ts))
      out[ts] = Object.fromEntries(got.map(p => [String(p.partition), Number(p.offset)]))
    }
  } finally {
    await admin.disconnect()
  }
  console.log(JSON.stringify(out))
  return 0
}

main().then(code => process.exit(code), e => {
  console.error(e.stack || e)
  process.exit(1)
})
