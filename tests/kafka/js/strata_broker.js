// A real stratad for the kafkajs tests, in a temporary folder, with both listeners on ephemeral
// loopback ports (the node twin of tests/kafka/strata_fixture.py). stop() sends SIGTERM, waits,
// then SIGKILL; a process 'exit' hook kills a broker the test left running, so none outlives the
// test. stop() rejects if the broker died early or did not exit 0 on SIGTERM.
'use strict'

const fs = require('fs')
const os = require('os')
const path = require('path')
const { spawn } = require('child_process')

const START_TIMEOUT_MS = 20000
const STOP_GRACE_MS = 15000
const NATIVE_RE = /native protocol on ([0-9.]+|\[[0-9a-f:]+\]|[\w.-]+):(\d+)/
const KAFKA_RE = /kafka protocol on ([0-9.]+|\[[0-9a-f:]+\]|[\w.-]+):(\d+)/

const live = new Set()
// Ctrl-C or a SIGTERM ends the test through process.exit, so the 'exit' hook below runs.
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(128 + (sig === 'SIGINT' ? 2 : 15)))
process.on('exit', () => {
  for (const child of live) {
    try {
      child.kill('SIGKILL')
    } catch (e) {}
  }
})

const sleep = ms => new Promise(resolve => setTimeout(resolve, ms))

class Broker {
  constructor({ stratad, config = {} } = {}) {
    this.stratad = stratad || process.env.STRATAD
    if (!this.stratad) throw new Error('set STRATAD to the stratad binary')
    this.folder = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-kafkajs-test.'))
    this.logPath = path.join(this.folder, 'stratad.log')
    // Consumer groups form without waiting 3 s for more members.
    this.config = { group_initial_rebalance_delay_ms: 0, ...config }
    this.child = null
    this.exited = null // { code, signal } once it has exited
  }

  async start() {
    const conf = path.join(this.folder, 'stratad.toml')
    fs.writeFileSync(
      conf,
      Object.entries(this.config)
        .map(([k, v]) => `${k} = ${typeof v === 'string' ? JSON.stringify(v) : v}\n`)
        .join('')
    )
    const args = ['--config', conf, '--data-dir', path.join(this.folder, 'data'),
      '--listen', '127.0.0.1:0', '--metrics-listen', 'off', '--kafka-listen', '127.0.0.1:0']
    const log = fs.openSync(this.logPath, 'a')
    // setpriv --pdeathsig KILL (util-linux): the broker dies with this process even when it is
    // killed with SIGKILL (a ctest timeout), where no hook runs.
    const setpriv = ['/usr/bin/setpriv', '/bin/setpriv'].find(p => fs.existsSync(p))
    this.child = setpriv
      ? spawn(setpriv, ['--pdeathsig', 'KILL', this.stratad, ...args], { stdio: ['ignore', log, log] })
      : spawn(this.stratad, args, { stdio: ['ignore', log, log] })
    fs.closeSync(log)
    live.add(this.child)
    this.exitPromise = new Promise(resolve => {
      this.child.on('exit', (code, signal) => {
        live.delete(this.child)
        this.exited = { code, signal }
        resolve(this.exited)
      })
    })
    const deadline = Date.now() + START_TIMEOUT_MS
    for (;;) {
      if (this.exited) {
        throw new Error(`stratad exited (${JSON.stringify(this.exited)}) at start\n${this.logTail()}`)
      }
      const text = this.logText()
      const native = NATIVE_RE.exec(text)
      const kafka = KAFKA_RE.exec(text)
      if (native && kafka) {
        this.nativeHost = native[1]
        this.nativePort = Number(native[2])
        this.kafkaHost = kafka[1]
        this.kafkaPort = Number(kafka[2])
        return this
      }
      if (Date.now() > deadline) {
        throw new Error(`stratad did not name both listeners in ${START_TIMEOUT_MS} ms\n${this.logTail()}`)
      }
      await sleep(50)
    }
  }

  get bootstrap() {
    return `${this.kafkaHost}:${this.kafkaPort}`
  }

  get nativeBootstrap() {
    return `${this.nativeHost}:${this.nativePort}`
  }

  alive() {
    return this.child !== null && this.exited === null
  }

  logText() {
    try {
      return fs.readFileSync(this.logPath, 'utf8')
    } catch (e) {
      return ''
    }
  }

  logTail(lines = 40) {
    return '--- stratad log (tail) ---\n' + this.logText().split('\n').slice(-lines).join('\n')
  }

  async stop() {
    if (!this.child) return
    const diedBefore = this.exited !== null
    if (!diedBefore) {
      this.child.kill('SIGTERM')
      const timer = sleep(STOP_GRACE_MS).then(() => 'timeout')
      if ((await Promise.race([this.exitPromise, timer])) === 'timeout') {
        this.child.kill('SIGKILL')
        await this.exitPromise
        throw new Error(`stratad ignored SIGTERM for ${STOP_GRACE_MS} ms (killed); log kept in ${this.folder}\n${this.logTail()}`)
      }
    }
    if (diedBefore) {
      throw new Error(`stratad died during the tests (${JSON.stringify(this.exited)}); log kept in ${this.folder}\n${this.logTail()}`)
    }
    if (this.exited.code !== 0) {
      throw new Error(`stratad exited ${JSON.stringify(this.exited)} on SIGTERM; log kept in ${this.folder}\n${this.logTail()}`)
    }
    if (!process.env.STRATA_KEEP_TEST_DATA) fs.rmSync(this.folder, { recursive: true, force: true })
  }
}

module.exports = { Broker, sleep }
