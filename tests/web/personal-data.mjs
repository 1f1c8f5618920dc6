// The dashboard's own logs (debug level, the whole browser run) must name no pupil: not one UPN,
// forename, surname or date of birth of the synthetic LA appears in them.
// Usage: SYNTH_DIR=... WEB_LOGS="a.log b.log" node --test personal-data.mjs

import assert from 'node:assert/strict'
import fs from 'node:fs'
import { test } from 'node:test'
import { personalData } from './pupils.mjs'

const dir = process.env.SYNTH_DIR
const logs = process.env.WEB_LOGS.split(" ")

test("the web service's logs carry no UPN, name or date of birth", () => {
  const values = personalData(dir)
  assert.ok(values.size > 200, `${values.size} identifying values to look for`)
  let lines = 0
  for (const log of logs) {
    const text = fs.readFileSync(log, 'utf8')
    lines += text.split('\n').length
    const found = [...values].filter((v) => new RegExp(`\\b${v.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\b`).test(text))
    assert.deepEqual(found, [], `${log} names pupils`)
  }
  assert.ok(lines > 50, `read ${lines} log lines`)
})
