// The dashboard's page figures (a benchmark that prints figures, not a timed test), against a
// running stack (`make serve`): each page asked for N times in a row over loopback, its time to
// the last byte (p50, p95, max: the web service's time plus the query service's behind it), and
// in Chromium its weight as sent (compressed, with every asset it loads) and the hosts it asked.
// Usage: WEB_URL=... LA_KEY=... SCHOOL_KEY=... OPS_KEY=... SCHOOL_URN=... [N=40] [OUT=file.json]
//        node bench.mjs

import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { chromium } from 'playwright-core'

const env = process.env
const WEB = env.WEB_URL
const N = Number(env.N || 40)

/** A signed-in session over plain HTTP: its cookie and CSRF token. */
async function signIn (key) {
  const page = await fetch(`${WEB}/sign-in`)
  const cookie = page.headers.get('set-cookie').split(';')[0]
  const csrf = (await page.text()).match(/name="csrf" value="([^"]+)"/)[1]
  const answer = await fetch(`${WEB}/sign-in/key`, {
    method: 'POST',
    redirect: 'manual',
    headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ csrf, api_key: key })
  })
  if (answer.status !== 303) throw new Error(`sign-in refused: ${answer.status}`)
  const session = answer.headers.get('set-cookie').split(';')[0]
  const home = await fetch(WEB + answer.headers.get('location'), { headers: { cookie: session } })
  const token = (await home.text()).match(/name="csrf" value="([^"]+)"/)[1]
  await fetch(`${WEB}/purpose`, {
    method: 'POST',
    redirect: 'manual',
    headers: { cookie: session, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ csrf: token, purpose: 'benchmark of the dashboard', return_to: '/' })
  })
  return session
}

async function time (cookie, url) {
  const times = []
  let bytes = 0
  for (let i = 0; i < N; i++) {
    const started = process.hrtime.bigint()
    const response = await fetch(WEB + url, { headers: { cookie } })
    const body = await response.arrayBuffer()
    times.push(Number(process.hrtime.bigint() - started) / 1e6)
    if (response.status !== 200) throw new Error(`${url}: ${response.status}`)
    bytes = body.byteLength
  }
  times.sort((a, b) => a - b)
  const at = (q) => times[Math.min(times.length - 1, Math.ceil(q * times.length) - 1)]
  return { p50_ms: at(0.5), p95_ms: at(0.95), max_ms: times.at(-1), html_bytes: bytes }
}

async function weigh (browser, cookie, url) {
  const context = await browser.newContext()
  const [name, value] = cookie.split('=')
  await context.addCookies([{ name, value, url: WEB }])
  const page = await context.newPage()
  const responses = []
  page.on('response', (r) => responses.push(r))
  await page.goto(WEB + url, { waitUntil: 'networkidle' })
  let sent = 0
  for (const r of responses) {
    const sizes = await r.request().sizes()
    sent += sizes.responseBodySize + sizes.responseHeadersSize
  }
  const hosts = [...new Set(responses.map((r) => new URL(r.url()).host))]
  await context.close()
  return { weight_bytes: sent, requests: responses.length, hosts }
}

const la = await signIn(env.LA_KEY)
const school = await signIn(env.SCHOOL_KEY)
const ops = await signIn(env.OPS_KEY)
const pages = [
  ['la overview (year to date)', la, '/las/937'],
  ['la overview (2025 to 2026)', la, '/las/937?year=2025'],
  ['la overview sorted and filtered', la, '/las/937?year=2025&phase=primary&sort=pa&order=desc'],
  ['school', la, `/schools/${env.SCHOOL_URN}?year=2025`],
  ['pupils at risk (la, audited)', la, '/las/937/at-risk?year=2025'],
  ['pupils at risk (school, audited)', school, `/schools/${env.SCHOOL_URN}/at-risk?year=2025`],
  ['who viewed pupils (la)', la, '/audit'],
  ['who viewed your pupils (school)', school, '/audit'],
  ['pipeline (operations)', ops, '/operations']
]
const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync']
})
const results = []
for (const [name, cookie, url] of pages) {
  const timing = await time(cookie, url)
  const weight = await weigh(browser, cookie, url)
  results.push({ page: name, url, requests_timed: N, ...timing, ...weight })
}
await browser.close()
const webHost = new URL(WEB).host
console.log('page                                 p50 ms   p95 ms   max ms   html KB   weight KB   requests  other hosts')
for (const r of results) {
  const others = r.hosts.filter((h) => h !== webHost)
  console.log(`${r.page.padEnd(36)} ${r.p50_ms.toFixed(1).padStart(6)} ${r.p95_ms.toFixed(1).padStart(8)} ${r.max_ms.toFixed(1).padStart(8)} ${(r.html_bytes / 1024).toFixed(1).padStart(9)} ${(r.weight_bytes / 1024).toFixed(1).padStart(11)} ${String(r.requests).padStart(10)}  ${others.length ? others.join(',') : 'none'}`)
}
const out = {
  bench: 'web',
  at: new Date().toISOString(),
  machine: { cores: os.cpus().length, memory_gib: Math.round(os.totalmem() / 2 ** 30) },
  spec: env.SPEC || 'small',
  requests_per_page: N,
  targets: { page_p95_ms: 300, la_overview_p95_ms: 150, weight_kb: 200 },
  pages: results
}
if (env.OUT) {
  fs.mkdirSync(path.dirname(env.OUT), { recursive: true })
  fs.writeFileSync(env.OUT, JSON.stringify(out, null, 2) + '\n')
  console.log(`bench: results in ${env.OUT}`)
}
