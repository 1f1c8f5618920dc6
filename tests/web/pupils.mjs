// The synthetic LA's pupils as `rollcall synth` writes them: every UPN, forename, surname and
// date of birth, which no URL and no log line of the dashboard may carry.

import fs from 'node:fs'
import path from 'node:path'

export function personalData (dir) {
  const values = new Set()
  for (const file of fs.readdirSync(dir).filter((f) => f.includes('roll'))) {
    const [header, ...rows] = fs.readFileSync(path.join(dir, file), 'utf8').trim().split('\n')
    const columns = header.split(',')
    const wanted = ['upn', 'forename', 'surname', 'date_of_birth'].map((c) => columns.indexOf(c)).filter((i) => i >= 0)
    for (const row of rows) {
      const fields = row.split(',')
      for (const i of wanted) if (fields[i] && fields[i].length >= 4) values.add(fields[i])
    }
  }
  return values
}

// One pupil of the synthetic LA, to search for: their surname and date of birth.
export function onePupil (dir) {
  const file = fs.readdirSync(dir).filter((f) => f.includes('roll')).sort()[0]
  const [header, first] = fs.readFileSync(path.join(dir, file), 'utf8').trim().split('\n')
  const columns = header.split(',')
  const fields = first.split(',')
  return { surname: fields[columns.indexOf('surname')], dob: fields[columns.indexOf('date_of_birth')] }
}
