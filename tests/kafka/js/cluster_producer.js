// An idempotent acks=all kafkajs producer for tests/kafka/test_cluster.py, which kills a partition
// leader while this runs: kafkajs must find the new leader by itself.
//
//   node cluster_producer.js BOOTSTRAP(,BOOTSTRAP...) TOPIC ACKED_FILE SECONDS PARTITIONS
//
// Sends batches of 10 unique values ("js-N") for SECONDS, one batch at a time, each batch to one
// partition (round robin over PARTITIONS), and appends each acknowledged value to ACKED_FILE as a
// JSON line once kafkajs resolves its send. Prints one JSON summary line at the end; exits
// non-zero if a send failed for good.
//
// One partition per send, because kafkajs 2.2.4 loses records when one send() spans partitions
// led by different brokers and a leader moves: on the retry it maps the moved partition to a
// broker that already answered for its own partitions, and resolves without sending it again
// (tulios/kafkajs#1303, open; the fix proposed in tulios/kafkajs#1798). It does the same against
// Apache Kafka; docs/kafka.md ("Client bugs") has the details.
'use strict'

const fs = require('fs')
const { Kafka, logLevel } = require('kafkajs')

async function main() {
  const [bootstrap, topic, ackedFile, seconds, partitions] = process.argv.slice(2)
  const kafka = new Kafka({
    clientId: 'strata-cluster-test',
    brokers: bootstrap.split(','),
    logLevel: logLevel.NOTHING,
    // Enough retries to span a failover (lease expiry, election) with kafkajs's backoff.
    retry: { retries: 12, initialRetryTime: 200, maxRetryTime: 2000 },
  })
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 })
  await producer.connect()
  const acked = fs.openSync(ackedFile, 'a')
  const end = Date.now() + Number(seconds) * 1000
  const ackTimes = []
  let n = 0
  while (Date.now() < end) {
    const messages = []
    const partition = (n / 10) % Number(partitions)
    for (let i = 0; i < 10; i++, n++) messages.push({ partition, key: String(n), value: `js-${n}` })
    await producer.send({ topic, acks: -1, messages })
    const now = Date.now()
    for (const m of messages) {
      fs.writeSync(acked, JSON.stringify({ value: m.value }) + '\n')
      ackTimes.push(now)
    }
  }
  fs.closeSync(acked)
  await producer.disconnect()
  const last10 = ackTimes.filter(t => t >= end - 10000).length
  console.log(JSON.stringify({ acked: ackTimes.length, acked_in_last_10s: last10 }))
}

main().catch(e => {
  console.error(`cluster_producer: ${e.stack || e}`)
  process.exit(1)
})
