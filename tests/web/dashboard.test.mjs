// The dashboard in Debian's Chromium, against the real stack that run.sh started: sign-in with
// the identity provider and with API keys, the LA overview, a school, pupils at risk (after the
// purpose), the audit trail, operations, sign-out, another LA's user, an idle session, a form
// without its CSRF token, downloads; axe-core on every page (no serious or critical violation),
// every page's HTML through html-validate, and no personal data in any URL the browser asked for.

import assert from 'node:assert/strict'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { after, before, test } from 'node:test'
import { createRequire } from 'node:module'
import { chromium } from 'playwright-core'
import { HtmlValidate } from 'html-validate'
import { onePupil, personalData } from './pupils.mjs'

const require = createRequire(import.meta.url)
const axeSource = fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8')
const env = process.env
const WEB = env.WEB_URL
const SHORT = env.SHORT_WEB_URL
const shots = path.join(env.RUN_DIR, 'screenshots')
fs.mkdirSync(shots, { recursive: true })

let context
let page
const pages = [] // every HTML page the browser was sent: { url, status, body }
const requested = [] // every URL the browser asked for
const checked = new Set()

before(async () => {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'rollcall-web-chromium-'))
  context = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    acceptDownloads: true,
    viewport: { width: 1280, height: 900 },
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync']
  })
  page = context.pages()[0] ?? await context.newPage()
  page.setDefaultTimeout(15000)
  context.on('request', (r) => requested.push(r.url()))
  context.on('response', async (r) => {
    const type = r.headers()['content-type'] || ''
    if (r.request().isNavigationRequest() && type.startsWith('text/html')) {
      try { pages.push({ url: r.url(), status: r.status(), body: await r.text() }) } catch {}
    }
  })
})

after(async () => { await context?.close() })

/** axe-core on the page as it is (no serious or critical violation), and a screenshot. */
async function check (name) {
  await page.evaluate(axeSource + ';0')
  const result = await page.evaluate(() => window.axe.run(document, {
    runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice'] }
  }))
  const bad = result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical')
  assert.deepEqual(bad.map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target).join(', ')})`), [], `axe on ${name}`)
  await page.screenshot({ path: path.join(shots, `${name}.png`), fullPage: true })
  checked.add(name)
}

async function signInWithKey (base, key) {
  await context.clearCookies()
  await page.goto(`${base}/sign-in`)
  // By keyboard: the field, the key, Enter.
  await page.locator('#api-key').focus()
  await page.keyboard.type(key)
  await page.keyboard.press('Enter')
  await page.waitForLoadState()
}

async function signOut () {
  await page.getByRole('button', { name: 'Sign out' }).click()
  await page.waitForURL(/\/signed-out$/)
}

async function download (linkName) {
  const [file] = await Promise.all([
    page.waitForEvent('download'),
    page.getByRole('link', { name: linkName }).click()
  ])
  const saved = path.join(env.RUN_DIR, file.suggestedFilename())
  await file.saveAs(saved)
  return { name: file.suggestedFilename(), bytes: fs.readFileSync(saved) }
}

const h1 = () => page.locator('h1').first().innerText()
const PURPOSE = 'web test: weekly attendance review'
// A pupil's page in the LA officer's session, for another session to try.
let pupilUrl

test('an LA officer signs in with the identity provider and sees every school of the LA', async () => {
  await page.goto(`${WEB}/`)
  assert.match(page.url(), /\/sign-in$/)
  await check('sign-in')
  // The skip link is the first thing the keyboard reaches (then off it again: it moves the page).
  await page.keyboard.press('Tab')
  assert.equal(await page.evaluate(() => document.activeElement.textContent.trim()), 'Skip to main content')
  await page.evaluate(() => document.activeElement.blur())
  await page.getByRole('button', { name: "Sign in with your organisation's account" }).click()
  await page.getByRole('link', { name: 'Sign in as la-937' }).click()
  await page.waitForURL(/\/las\/937$/)
  assert.equal(await h1(), 'Warwickshire schools')
  await page.locator('#year').selectOption('2025')
  await page.getByRole('button', { name: 'Show this year' }).click()
  await page.waitForURL(/year=2025/)
  const rows = page.locator('table.govuk-table').first().locator('tbody tr')
  assert.equal(await rows.count(), 5, 'four schools and the LA total')
  assert.match(await rows.last().innerText(), /Warwickshire total/)
  assert.equal(await page.locator('tbody .govuk-tag', { hasText: 'Independent' }).count(), 1)
  assert.equal(await page.locator('svg[role="img"]').count(), 1, 'the chart, beside the table')
  assert.match(await page.locator('body').innerText(), /2025 to 2026 academic year: 1 September 2025 to 31 August 2026/)
  assert.match(await page.locator('.rollcall-as-of').innerText(), /Figures as at \d+:\d\d(am|pm) on \d+ \w+ \d{4}/)
  await check('la-overview')
})

test('the LA overview sorts by any column and filters by phase', async () => {
  await page.getByRole('link', { name: /^Attendance/ }).click()
  await page.waitForURL(/sort=attendance&order=asc/)
  assert.match(await page.locator('th[aria-sort="ascending"]').innerText(), /^Attendance/)
  const attendance = await page.locator('table.govuk-table tbody tr').evaluateAll((rows) =>
    rows.slice(0, -1).map((r) => parseFloat(r.children[7].textContent)))
  assert.deepEqual(attendance, [...attendance].sort((a, b) => a - b))
  await page.locator('#phase').selectOption('primary')
  await page.getByRole('button', { name: 'Apply filters' }).click()
  await page.waitForURL(/phase=primary/)
  const phases = await page.locator('table.govuk-table tbody tr').evaluateAll((rows) =>
    rows.slice(0, -1).map((r) => r.children[2].textContent.trim()))
  assert.ok(phases.length > 0 && phases.every((p) => p === 'Primary'), phases.join())
  await check('la-overview-filtered')
  const csv = await download('CSV file')
  assert.match(csv.name, /^la-937-schools-2025-26\.csv$/)
  const lines = csv.bytes.toString('utf8').trim().split('\n')
  assert.match(lines[0], /^School,URN,Phase,Type,Independent,Enrolments,Possible sessions,Attendance \(%\)/)
  assert.equal(lines.length, phases.length + 2, 'header, the shown schools, the LA total')
  const xlsx = await download('Excel file (xlsx)')
  assert.match(xlsx.name, /\.xlsx$/)
  assert.equal(xlsx.bytes.subarray(0, 4).toString('latin1'), 'PK\u0003\u0004', 'an xlsx file is a zip')
})

test('a school page shows its measures, a chart and its table, reached by keyboard', async () => {
  await page.goto(`${WEB}/las/937?year=2025`)
  const first = page.locator('tbody th a').first()
  const name = await first.innerText()
  await first.focus()
  await page.keyboard.press('Enter')
  await page.waitForURL(/\/schools\/\d{6}\?year=2025$/)
  assert.equal((await h1()).replace(/\s+Independent$/, ''), name)
  assert.equal(await page.locator('svg[role="img"]').count(), 1)
  assert.ok(await page.getByRole('table', { name: 'Possible sessions by category' }).isVisible())
  assert.ok(await page.getByRole('table', { name: 'Sessions by attendance code' }).isVisible())
  await check('school')
  const csv = await download('CSV file')
  assert.match(csv.name, /^school-\d{6}-2025-26\.csv$/)
  assert.match(csv.bytes.toString('utf8'), /^Measure,Value\nEnrolments,\d+/)
})

test('pupils at risk ask for a purpose first, then list each flag with why', async () => {
  await page.getByRole('link', { name: 'Pupils at risk at this school' }).click()
  assert.equal(await h1(), "Why do you need these pupils' details?")
  await check('purpose')
  await page.getByRole('button', { name: 'Continue' }).click()
  assert.match(await page.locator('.govuk-error-summary').innerText(), /Enter why you need/)
  await check('purpose-error')
  await page.locator('#purpose').fill(PURPOSE)
  await page.getByRole('button', { name: 'Continue' }).click()
  await page.waitForURL(/\/schools\/\d{6}\/at-risk\?year=2025$/)
  assert.match(await h1(), /^Pupils at risk at /)
  assert.match(await page.locator('.govuk-inset-text').innerText(), new RegExp(PURPOSE))
  const flagged = page.locator('tbody tr')
  assert.ok(await flagged.count() > 0, 'the small LA has pupils at risk')
  assert.match(await flagged.first().innerText(), /(Persistent|Severe)[\s\S]*Missed \d+ of \d+ possible sessions/)
  await check('at-risk-school')
  // The LA's whole list, the purpose kept for the session.
  await page.goto(`${WEB}/las/937/at-risk?year=2025`)
  assert.equal(await h1(), 'Pupils at risk in Warwickshire')
  await check('at-risk-la')
  const csv = await download('CSV file')
  assert.match(csv.name, /^at-risk-la-937-2025-26\.csv$/)
  const lines = csv.bytes.toString('utf8').trim().split('\n')
  assert.match(lines[0], /^Pupil,UPN,Year group,School,Possible sessions,Sessions missed/)
  const summary = await page.locator('.govuk-summary-list').innerText()
  assert.equal(lines.length - 1, Number(summary.match(/Persistently absent\s+([\d,]+)/)[1].replace(/,/g, '')), 'the whole list')
  const xlsx = await download('Excel file (xlsx)')
  assert.match(xlsx.name, /^at-risk-la-937-2025-26\.xlsx$/)
  assert.equal(xlsx.bytes.subarray(0, 2).toString('latin1'), 'PK')
})

test('a pupil from the at-risk list: their schools, a calendar of sessions with a key, the download', async () => {
  await page.goto(`${WEB}/las/937/at-risk?year=2025`)
  const first = page.locator('tbody tr th a').first()
  const name = await first.innerText()
  await first.click()
  // Named by a reference of the session's own: no UPN in the address.
  await page.waitForURL(/\/pupils\/[A-Za-z0-9_-]{22}\?year=2025$/)
  pupilUrl = page.url()
  assert.equal(await h1(), name)
  assert.match(await page.locator('.govuk-summary-list').first().innerText(), /Flag\s+(Persistent|Severe) absence/)
  assert.match(await page.locator('main').innerText(), /Schools in the period/)
  const weeks = page.locator('table.rollcall-calendar tbody tr')
  assert.ok(await weeks.count() > 0, 'weeks of sessions')
  assert.match(await page.locator('table.rollcall-calendar thead').innerText(), /Mon AM\s+Mon PM/)
  // Each coloured mark says its category in words too.
  const absent = page.locator('td.rollcall-mark--authorised, td.rollcall-mark--unauthorised').first()
  assert.match(await absent.innerText(), /, (authorised|unauthorised) absence/)
  assert.match(await page.locator('main').innerText(), /Absence spells: consecutive absent sessions/)
  await check('pupil')
  const csv = await download('CSV file')
  assert.match(csv.name, /^pupil-sessions-2025-26\.csv$/)
  assert.match(csv.bytes.toString('utf8'), /^Date,Session,School,Code,Category,Minutes late,Recorded\n2025-/)
})

test('finding a pupil by surname and date of birth, through a form that keeps them out of the address', async () => {
  await page.getByRole('link', { name: 'Find a pupil' }).click()
  assert.equal(await h1(), 'Find a pupil')
  await page.getByRole('button', { name: 'Search' }).click()
  assert.match(await page.locator('.govuk-error-summary').innerText(), /Enter a whole UPN/)
  await check('find-pupil-error')
  const { surname, dob } = onePupil(env.SYNTH_DIR)
  await page.locator('#surname').fill(surname)
  await page.locator('#date_of_birth').fill(dob)
  await page.getByRole('button', { name: 'Search' }).click()
  await page.waitForLoadState()
  assert.match(page.url(), /\/pupils\/find$/)
  const found = page.locator('tbody tr')
  assert.ok(await found.count() >= 1, 'the pupil is found')
  assert.match(await found.first().innerText(), new RegExp(surname))
  await check('find-pupil')
  await found.first().locator('a').click()
  await page.waitForURL(/\/pupils\/[A-Za-z0-9_-]{22}$/)
  assert.match(await h1(), new RegExp(surname))
})

test('pupils approaching persistent absence: the horizon, the rows or the empty list, the download', async () => {
  assert.ok(await page.getByRole('link', { name: 'Approaching persistent absence' }).isVisible(), 'in the navigation')
  // The synthetic LA's registers are in autumn 2025 (five days: any absence there is already 10%).
  await page.goto(`${WEB}/las/937/approaching?year=2025`)
  assert.equal(await h1(), 'Pupils approaching persistent absence in Warwickshire')
  const listed = async (within) => Number((await page.locator('.govuk-summary-list').innerText())
    .match(new RegExp(`([\\d,]+) pupils within ${within} absent sessions`))[1].replace(/,/g, ''))
  const near = await listed(4)
  const rows = page.locator('tbody tr')
  if (near === 0) {
    assert.match(await page.locator('main').innerText(), /No pupils are this close to persistent absence/)
  } else {
    assert.match(await rows.first().innerText(), /more absent sessions would reach 10%/)
  }
  await check('approaching-la')
  await page.locator('#within').selectOption('20')
  await page.getByRole('button', { name: 'Show pupils' }).click()
  await page.waitForURL(/within=20/)
  const wider = await listed(20)
  assert.ok(wider >= near, 'a wider horizon lists at least as many')
  const csv = await download('CSV file')
  assert.match(csv.name, /^approaching-la-937-2025-26-within-20\.csv$/)
  const lines = csv.bytes.toString('utf8').trim().split('\n')
  assert.match(lines[0], /^Pupil,UPN,Year group,School,Possible sessions,Sessions missed,Absence \(%\),Absent sessions to 10%,Why listed$/)
  assert.equal(lines.length - 1, wider, 'the whole list')
})

test('the audit page shows the views with their purpose', async () => {
  await page.getByRole('link', { name: 'Who viewed pupils' }).click()
  assert.equal(await h1(), 'Who viewed pupils')
  const table = await page.locator('table.govuk-table').innerText()
  assert.match(table, new RegExp(PURPOSE))
  assert.match(table, /Pupils at risk/)
  assert.match(table, /jwt:officer-937/)
  await check('audit-la')
})

test('signing out ends the session', async () => {
  await signOut()
  assert.equal(await h1(), 'You have signed out')
  await check('signed-out')
  await page.goto(`${WEB}/las/937`)
  assert.match(page.url(), /\/sign-in$/)
})

test('a form posted without its CSRF token is refused', async () => {
  await signInWithKey(WEB, env.LA_KEY)
  await page.waitForURL(/\/las\/937$/)
  const post = (url, body) => page.evaluate(async ([url, body]) => {
    const r = await fetch(url, { method: 'POST', body, headers: { 'content-type': 'application/x-www-form-urlencoded' }, redirect: 'manual' })
    return r.status
  }, [url, body])
  assert.equal(await post('/purpose', 'purpose=no+token&return_to=%2F'), 403)
  assert.equal(await post('/sign-out', ''), 403)
  assert.equal(await post('/sign-out', 'csrf=not-the-token'), 403)
  await page.reload()
  assert.equal(await h1(), 'Warwickshire schools', 'still signed in: the refused sign-out did nothing')
  await page.goto(`${WEB}/las/937/at-risk`)
  assert.equal(await h1(), "Why do you need these pupils' details?", 'the refused purpose was not kept')
  await page.goto(`${WEB}/las/937`)
  await signOut()
})

test("another LA's user sees none of this LA", async () => {
  await context.clearCookies()
  await page.goto(`${WEB}/sign-in`)
  await page.getByRole('button', { name: "Sign in with your organisation's account" }).click()
  await page.getByRole('link', { name: 'Sign in as la-330' }).click()
  await page.waitForURL(/\/las\/330$/)
  assert.equal(await h1(), 'Birmingham schools')
  await page.goto(`${WEB}/las/937?year=2025`)
  assert.equal(await h1(), 'You cannot see this page')
  await check('forbidden')
  const schools = fs.readFileSync(path.join(env.SYNTH_DIR, 'schools.csv'), 'utf8').trim().split('\n').slice(1)
  for (const line of schools) {
    const urn = line.split(',')[0]
    const response = await page.goto(`${WEB}/schools/${urn}?year=2025`)
    assert.equal(response.status(), 403, `school ${urn}`)
  }
  await page.goto(`${WEB}/las/937/at-risk?year=2025`)
  await page.locator('#purpose').fill('web test: another la trying')
  await page.getByRole('button', { name: 'Continue' }).click()
  assert.equal(await h1(), 'You cannot see this page')
  // The LA officer's link to a pupil names nobody in this session.
  assert.equal((await page.goto(pupilUrl)).status(), 404)
  await page.goto(`${WEB}/audit`)
  assert.match(await page.locator('main').innerText(), /Nobody viewed your pupils' details/)
  await signOut()
})

test("a school's user sees its own school and who viewed its pupils", async () => {
  // With the identity provider: the token names the school (and its LA; the school wins).
  await context.clearCookies()
  await page.goto(`${WEB}/sign-in`)
  await page.getByRole('button', { name: "Sign in with your organisation's account" }).click()
  await page.getByRole('link', { name: `Sign in as school-${env.SCHOOL_URN}` }).click()
  await page.waitForURL(new RegExp(`/schools/${env.SCHOOL_URN}$`))
  assert.match(await page.locator('.govuk-service-navigation__service-name').innerText(), new RegExp(`URN ${env.SCHOOL_URN}`))
  await page.getByRole('link', { name: 'Who viewed your pupils' }).click()
  assert.equal(await h1(), 'Who viewed your pupils')
  assert.match(await page.locator('table.govuk-table').innerText(), new RegExp(PURPOSE))
  await check('audit-school')
  const response = await page.goto(`${WEB}/las/937`)
  assert.equal(response.status(), 403)
  await page.goto(`${WEB}/audit`)
  await signOut()
  // And with the school's API key.
  await signInWithKey(WEB, env.SCHOOL_KEY)
  await page.waitForURL(new RegExp(`/schools/${env.SCHOOL_URN}$`))
  await signOut()
})

test('operations see the pipeline counts and no pupil', async () => {
  await signInWithKey(WEB, env.OPS_KEY)
  await page.waitForURL(/\/operations$/)
  assert.equal(await h1(), 'Pipeline')
  const counts = await page.locator('table.govuk-table').innerText()
  const processed = Number(counts.match(/Feeds processed\s+([\d,]+)/)[1].replace(/,/g, ''))
  assert.ok(processed > 0, counts)
  await check('operations')
  const csv = await download('CSV file')
  assert.match(csv.bytes.toString('utf8'), /^Stage,Count\nFeeds received,\d+/)
  // Each school's feeds for an LA of the registry: the synthetic LA's schools, none quiet today.
  await page.getByRole('link', { name: "Schools' feeds" }).click()
  await page.waitForURL(/\/operations\/schools$/)
  assert.equal(await h1(), "Schools' feeds")
  await page.selectOption('#la', '937')
  await page.getByRole('button', { name: 'Show schools' }).click()
  await page.waitForURL(/\/operations\/schools\?la=937$/)
  const feeds = await page.locator('table.govuk-table').innerText()
  assert.match(feeds, new RegExp(`${env.SCHOOL_URN}\\s`))
  assert.match(await page.locator('main').innerText(), /0 quiet schools/)
  await check('school-feeds')
  // The records validation rejected, by code, sender and school: the school's one bad mark.
  await page.getByRole('link', { name: 'Rejected records' }).click()
  await page.waitForURL(/\/operations\/rejected$/)
  assert.equal(await h1(), 'Rejected records')
  const rejected = await page.locator('table.govuk-table').innerText()
  assert.match(rejected, new RegExp(`UNKNOWN_CODE\\s+school\\s+${env.SCHOOL_URN}\\s+1\\s+1`))
  await check('rejected-records')
  const rejectedCsv = await download('CSV file')
  assert.match(rejectedCsv.bytes.toString('utf8'), /^Finding code,Sender,School,Records rejected,Feeds,First seen,Last seen\n/)
  // No feed was parked in this run: the page says so.
  await page.getByRole('link', { name: 'Parked feeds' }).click()
  await page.waitForURL(/\/operations\/parked$/)
  assert.equal(await h1(), 'Parked feeds')
  assert.match(await page.locator('main').innerText(), /No feed has been parked\./)
  await check('parked-feeds')
  // A dry run of the school's feeds validated again: nothing changes (its records were judged
  // as they would be now), and the page says what was read.
  await page.getByRole('link', { name: 'Replay a school' }).click()
  await page.waitForURL(/\/operations\/replays$/)
  assert.equal(await h1(), "Replay a school's feeds")
  await check('school-replay-form')
  await page.locator('#school').fill(env.SCHOOL_URN)
  await page.getByRole('button', { name: 'Ask for the replay' }).click()
  await page.waitForURL(/\/operations\/replays\/\d+$/)
  assert.match(await h1(), new RegExp(`^Dry run \\d+ of school ${env.SCHOOL_URN}$`))
  for (let i = 0; i < 40 && !/done/.test(await page.locator('.govuk-summary-list').first().innerText()); i++) {
    await new Promise((resolve) => setTimeout(resolve, 500))
    await page.reload()
  }
  const replayed = await page.locator('main').innerText()
  assert.match(replayed, /done: nothing was changed/)
  assert.match(replayed, /Feeds\s+\d+ found, \d+ read back, 0 no longer held by the broker/)
  await check('school-replay')
  assert.equal((await page.goto(`${WEB}/las/937`)).status(), 403)
  assert.equal((await page.goto(`${WEB}/las/937/at-risk`)).status(), 200, 'the purpose form first')
  await page.goto(`${WEB}/operations`)
  await signOut()
})

test('an idle session goes back to sign-in', async () => {
  await signInWithKey(SHORT, env.LA_KEY)
  await page.waitForURL(/\/las\/937$/)
  await new Promise((resolve) => setTimeout(resolve, 4500))
  await page.reload()
  assert.match(page.url(), /\/sign-in\?reason=idle$/)
  assert.match(await page.locator('.govuk-notification-banner').innerText(), /signed out because you did nothing for 3 seconds/)
  await check('signed-out-idle')
})

test('every page is valid HTML and no URL carries personal data', async () => {
  assert.ok(checked.size >= 22, `axe ran on ${checked.size} pages`)
  const validator = new HtmlValidate({
    extends: ['html-validate:recommended'],
    rules: {
      // GOV.UK Frontend's own markup: the start button is a link with role="button" and the
      // notification banner a div with role="region", as the Design System writes them.
      'prefer-native-element': ['error', { exclude: ['button', 'region'] }],
      // Long, plain-language titles and headings are the content style.
      'long-title': 'off'
    }
  })
  const failures = []
  for (const p of pages) {
    const report = await validator.validateString(p.body, p.url)
    for (const result of report.results) {
      for (const m of result.messages) failures.push(`${p.url}:${m.line}:${m.column} ${m.ruleId}: ${m.message}`)
    }
  }
  assert.ok(pages.length >= 20, `validated ${pages.length} pages`)
  assert.deepEqual(failures, [])
  const personal = personalData(env.SYNTH_DIR)
  assert.ok(personal.size > 200, `${personal.size} identifying values to look for`)
  const leaks = requested.filter((u) => [...personal].some((v) => decodeURIComponent(u).includes(v)))
  assert.deepEqual(leaks, [])
  assert.ok(requested.every((u) => u.startsWith(WEB) || u.startsWith(SHORT) || u.startsWith('http://localhost:')),
    'no request to another host but the dashboard and the identity provider')
})
