// A small OpenID Connect identity provider for the browser tests: discovery, an authorisation
// page where the tester picks a user, a token endpoint checking the code, its PKCE verifier and
// the client's secret, and a JWKS. It signs RS256 tokens the query service's [auth.jwt] accepts:
// the access token for the query service's audience with the user's LA in `la_code`, the ID token
// for the dashboard's client id with the sign-in's nonce.
//
// Usage: node issuer.mjs PORT JWKS_OUT CLIENT_ID CLIENT_SECRET AUDIENCE
// Users: `?user=la-937`, `la-330` or `school-140001` (a school user, its token naming the school
// in `school_urn` and its LA in `la_code`). Writes the JWKS to
// JWKS_OUT before it listens, so the query service can read it at start-up.

import crypto from 'node:crypto'
import fs from 'node:fs'
import http from 'node:http'

const [port, jwksOut, clientId, clientSecret, audience] = process.argv.slice(2)
const issuer = `http://localhost:${port}`
const { publicKey, privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 })
const kid = 'test-' + crypto.randomBytes(4).toString('hex')
const jwk = { ...publicKey.export({ format: 'jwk' }), kid, alg: 'RS256', use: 'sig' }
fs.writeFileSync(jwksOut, JSON.stringify({ keys: [jwk] }))

const USERS = {
  'la-937': { sub: 'officer-937', la_code: '937' },
  'la-330': { sub: 'officer-330', la_code: '330' },
  // A school's attendance lead: the token names the school and its LA; the school wins.
  'school-140001': { sub: 'lead-140001', school_urn: '140001', la_code: '937' }
}
// code -> what the sign-in asked for
const codes = new Map()

const b64url = (buf) => Buffer.from(buf).toString('base64url')
function sign (claims) {
  const header = b64url(JSON.stringify({ alg: 'RS256', typ: 'JWT', kid }))
  const body = b64url(JSON.stringify(claims))
  const signature = crypto.sign('sha256', Buffer.from(`${header}.${body}`), privateKey)
  return `${header}.${body}.${b64url(signature)}`
}

function send (res, status, type, body, headers = {}) {
  res.writeHead(status, { 'content-type': type, ...headers })
  res.end(body)
}

function readBody (req) {
  return new Promise((resolve) => {
    let data = ''
    req.on('data', (chunk) => { data += chunk })
    req.on('end', () => resolve(new URLSearchParams(data)))
  })
}

const escape = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)

http.createServer(async (req, res) => {
  const url = new URL(req.url, issuer)
  if (url.pathname === '/.well-known/openid-configuration') {
    return send(res, 200, 'application/json', JSON.stringify({
      issuer,
      authorization_endpoint: `${issuer}/authorize`,
      token_endpoint: `${issuer}/token`,
      jwks_uri: `${issuer}/jwks`,
      response_types_supported: ['code'],
      subject_types_supported: ['public'],
      id_token_signing_alg_values_supported: ['RS256'],
      code_challenge_methods_supported: ['S256']
    }))
  }
  if (url.pathname === '/jwks') {
    return send(res, 200, 'application/json', JSON.stringify({ keys: [jwk] }))
  }
  if (url.pathname === '/authorize') {
    const q = url.searchParams
    if (q.get('client_id') !== clientId || q.get('response_type') !== 'code' ||
        q.get('code_challenge_method') !== 'S256' || !q.get('code_challenge')) {
      return send(res, 400, 'text/plain', 'bad authorisation request')
    }
    const user = q.get('user')
    if (!user) {
      // The provider's own sign-in page: pick who signs in.
      const links = Object.keys(USERS).map((u) => {
        const next = new URL(url)
        next.searchParams.set('user', u)
        return `<li><a href="${escape(next.pathname + next.search)}">Sign in as ${escape(u)}</a></li>`
      }).join('')
      return send(res, 200, 'text/html; charset=utf-8',
        `<!DOCTYPE html><html lang="en"><head><title>Test identity provider</title></head><body><main><h1>Test identity provider</h1><ul>${links}</ul></main></body></html>`)
    }
    if (!USERS[user]) return send(res, 400, 'text/plain', 'unknown user')
    const code = crypto.randomBytes(16).toString('hex')
    codes.set(code, {
      user,
      nonce: q.get('nonce'),
      challenge: q.get('code_challenge'),
      redirect: q.get('redirect_uri')
    })
    const back = new URL(q.get('redirect_uri'))
    back.searchParams.set('code', code)
    back.searchParams.set('state', q.get('state'))
    return send(res, 302, 'text/plain', '', { location: back.toString() })
  }
  if (url.pathname === '/token' && req.method === 'POST') {
    const form = await readBody(req)
    const basic = (req.headers.authorization || '').replace(/^Basic /, '')
    const [id, secret] = Buffer.from(basic, 'base64').toString().split(':')
    const asked = codes.get(form.get('code'))
    codes.delete(form.get('code'))
    const verifier = form.get('code_verifier') || ''
    const challenge = crypto.createHash('sha256').update(verifier).digest('base64url')
    if (id !== clientId || secret !== clientSecret || !asked || asked.challenge !== challenge ||
        asked.redirect !== form.get('redirect_uri') || form.get('grant_type') !== 'authorization_code') {
      return send(res, 400, 'application/json', JSON.stringify({ error: 'invalid_grant' }))
    }
    const who = USERS[asked.user]
    const now = Math.floor(Date.now() / 1000)
    const life = 3600
    const access = sign({ iss: issuer, aud: audience, ...who, iat: now, exp: now + life })
    const idToken = sign({ iss: issuer, aud: clientId, sub: who.sub, nonce: asked.nonce, iat: now, exp: now + life })
    return send(res, 200, 'application/json', JSON.stringify({
      access_token: access, id_token: idToken, token_type: 'Bearer', expires_in: life
    }))
  }
  send(res, 404, 'text/plain', 'not found')
}).listen(Number(port), '127.0.0.1')
