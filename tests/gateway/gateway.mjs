// A Wechaty puppet-service gateway backed by PuppetMock, for tuanbot's transport tests.
//
// Usage: node gateway.mjs --port 0 --token T --fixture fixture.json [--control-port 0]
//        [--tls [--tls-cert F --tls-key F]] [--login CONTACT_ID | --no-login]
// --tls serves TLS as puppet-service does by default (its built-in "insecure" certificate signed by
// the Wechaty root CA, or the given certificate); without it the gateway speaks plain HTTP/2.
// --login picks the account that logs in (default: fixture.bot; the leader's id = own-account
// mode); --no-login waits for POST /scan and /login, as a puppet waiting for its QR code does.
// Prints one JSON line {"ready":true,"grpcPort":N,"controlPort":M} on stdout once both listen.
// The control API (HTTP, 127.0.0.1 only) lets a test act as the WeChat side:
//   POST /say    {from, to, text, mentions?}  -> {id}   (to: a room id, or a contact id for private)
//   POST /image  {from, to}                   -> {id}   (a non-text message)
//   POST /message {from, to, type, text}      -> {id}   (any wechaty-puppet MessageType: 0 Unknown,
//                                                         1 Attachment, 10 GroupNote, ...)
//   POST /redeliver {id}                      -> {}     (emit the same message event again)
//   POST /join   {room, contacts, inviter}    -> {}
//   POST /leave  {room, contacts, remover}    -> {}
//   POST /error  {message}                    -> {}     (an error event on the puppet)
//   POST /scan   {qrcode, status?}            -> {}     (a login QR code; status 2 = waiting)
//   POST /login  {}                           -> {}     (the account logs in: scanned and confirmed)
//   POST /logout {}                           -> {}
//   POST /sends  {hang?, delayMs?, noIds?}    -> {}     (hang: sends never finish and are not
//                                                         recorded; delayMs: each send takes that long;
//                                                         noIds: answer sends without an id)
//   GET  /sent                                -> [{to, text, mentions, kind, name, id}]
// Sends answer with the id of the message they made, as real puppets do; that message comes back
// on the event stream like every message the account sends.
import fs from 'node:fs'
import http from 'node:http'
import net from 'node:net'
import { parseArgs } from 'node:util'

import { PuppetServer } from 'wechaty-puppet-service'
import { PuppetMock, mock } from 'wechaty-puppet-mock'

const { values: args } = parseArgs({
  options: {
    port: { type: 'string', default: process.env.GATEWAY_PORT ?? '0' },
    token: { type: 'string', default: process.env.GATEWAY_TOKEN ?? '' },
    fixture: { type: 'string', default: process.env.GATEWAY_FIXTURE ?? '' },
    'control-port': { type: 'string', default: '0' },
    tls: { type: 'boolean', default: false },
    'tls-cert': { type: 'string', default: '' },
    'tls-key': { type: 'string', default: '' },
    login: { type: 'string', default: '' },
    'no-login': { type: 'boolean', default: false },
  },
})
if (!args.token || !args.fixture) {
  console.error('usage: node gateway.mjs --token T --fixture F [--port P] [--control-port C]')
  process.exit(2)
}
const fixture = JSON.parse(fs.readFileSync(args.fixture, 'utf8'))
const aliases = new Map() // `${roomId} ${contactId}` -> room alias
const sent = []
const sends = { hang: false, delayMs: 0, noIds: false }

// PuppetMock drops mention ids and room aliases and answers sends without an id; record and
// serve them here.
class RecordingPuppet extends PuppetMock {
  async messageSendText (conversationId, text, mentionIdList = []) {
    await sendsAllowed()
    const id = await this.sendAndFindId(() => super.messageSendText(conversationId, text))
    sent.push({ to: conversationId, text, mentions: [...mentionIdList], kind: 'text', name: null, id })
    return id
  }

  async messageSendFile (conversationId, fileBox) {
    await sendsAllowed()
    const id = await this.sendAndFindId(() => super.messageSendFile(conversationId, fileBox))
    sent.push({ to: conversationId, text: '', mentions: [], kind: 'file', name: fileBox.name, id })
    return id
  }

  async sendAndFindId (send) {
    const before = new Set(mocker.cacheMessagePayload.keys())
    await send()
    if (sends.noIds) return undefined
    return [...mocker.cacheMessagePayload.keys()].find((id) => !before.has(id))
  }

  async roomMemberRawPayload (roomId, contactId) {
    const payload = await super.roomMemberRawPayload(roomId, contactId)
    return { ...payload, roomAlias: aliases.get(`${roomId} ${contactId}`) ?? '' }
  }
}

async function sendsAllowed () {
  if (sends.hang) await new Promise(() => {}) // never settles: the client must time out
  if (sends.delayMs) await new Promise((resolve) => setTimeout(resolve, sends.delayMs))
}

const mocker = new mock.Mocker()
const botContact = mocker.createContact({ id: fixture.bot.id, name: fixture.bot.name })
for (const c of fixture.contacts) mocker.createContact({ id: c.id, name: c.name })
const bot = args.login ? mocker.ContactMock.load(args.login) : botContact
for (const r of fixture.rooms) {
  mocker.createRoom({ id: r.id, topic: r.topic, memberIdList: [...new Set([bot.id, ...r.members])] })
  for (const [contactId, alias] of Object.entries(r.aliases ?? {})) aliases.set(`${r.id} ${contactId}`, alias)
}
// The account logs in whenever the puppet starts (a gateway restart starts it anew).
mocker.use((m) => {
  if (!args['no-login']) m.login(bot)
  return () => {}
})
const puppet = new RecordingPuppet({ mocker })

async function freePort () {
  return new Promise((resolve, reject) => {
    const srv = net.createServer()
    srv.once('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address()
      srv.close(() => resolve(port))
    })
  })
}

const grpcPort = Number(args.port) || await freePort()
const server = new PuppetServer({
  endpoint: `0.0.0.0:${grpcPort}`,
  puppet,
  token: args.token,
  tls: args.tls
    ? {
        disable: false,
        ...(args['tls-cert'] ? { serverCert: fs.readFileSync(args['tls-cert'], 'utf8') } : {}),
        ...(args['tls-key'] ? { serverKey: fs.readFileSync(args['tls-key'], 'utf8') } : {}),
      }
    : { disable: true },
})
await server.start()

const conversation = (id) =>
  mocker.cacheRoomPayload.has(id) ? mocker.RoomMock.load(id) : mocker.ContactMock.load(id)

// Messages a contact says get a cuid; find the newest one that contact said.
function lastMessageId (talkerId) {
  const ids = [...mocker.cacheMessagePayload.keys()]
  for (let i = ids.length - 1; i >= 0; i--) {
    if (mocker.cacheMessagePayload.get(ids[i]).talkerId === talkerId) return ids[i]
  }
  throw new Error('no message from ' + talkerId)
}

const routes = {
  'POST /say': (b) => {
    const from = mocker.ContactMock.load(b.from)
    const mentions = (b.mentions ?? []).map((id) => mocker.ContactMock.load(id))
    from.say(b.text, mentions).to(conversation(b.to))
    return { id: lastMessageId(b.from) }
  },
  'POST /image': (b) => emitMessage(b.from, b.to, 6, undefined), // wechaty-puppet MessageType.Image
  'POST /message': (b) => emitMessage(b.from, b.to, b.type, b.text),
  'POST /redeliver': (b) => {
    puppet.emit('message', { messageId: b.id })
    return {}
  },
  'POST /join': (b) => {
    const room = mocker.RoomMock.load(b.room)
    room.add(...b.contacts.map((id) => mocker.ContactMock.load(id))).by(mocker.ContactMock.load(b.inviter))
    return {}
  },
  'POST /leave': (b) => {
    const room = mocker.RoomMock.load(b.room)
    room.remove(...b.contacts.map((id) => mocker.ContactMock.load(id))).by(mocker.ContactMock.load(b.remover))
    return {}
  },
  'POST /error': (b) => {
    puppet.emit('error', { gerror: b.message ?? 'mock error' })
    return {}
  },
  'POST /scan': (b) => {
    mocker.scan(b.qrcode, b.status ?? 2)
    return {}
  },
  'POST /login': () => {
    mocker.login(bot)
    return {}
  },
  'POST /logout': () => {
    puppet.logout('logged out on the phone')
    return {}
  },
  'POST /sends': (b) => {
    Object.assign(sends, { hang: !!b.hang, delayMs: b.delayMs ?? 0, noIds: !!b.noIds })
    return {}
  },
  'GET /sent': () => sent,
}

function emitMessage (from, to, type, text) {
  const id = `msg-${Date.now()}-${Math.random().toString(36).slice(2)}`
  const room = mocker.cacheRoomPayload.has(to)
  mocker.MessageMock.create({
    id,
    talkerId: from,
    timestamp: Date.now(),
    type,
    ...(text === undefined ? {} : { text }),
    ...(room ? { roomId: to, mentionIdList: [] } : { listenerId: to }),
  })
  puppet.emit('message', { messageId: id })
  return { id }
}

const control = http.createServer((req, res) => {
  let body = ''
  req.on('data', (chunk) => { body += chunk })
  req.on('end', () => {
    const route = routes[`${req.method} ${req.url}`]
    let status = 200
    let out
    try {
      if (!route) throw Object.assign(new Error('no route'), { status: 404 })
      out = route(body ? JSON.parse(body) : {})
    } catch (e) {
      status = e.status ?? 400
      out = { error: String(e.message ?? e) }
    }
    res.writeHead(status, { 'content-type': 'application/json' })
    res.end(JSON.stringify(out))
  })
})
control.listen(Number(args['control-port']), '127.0.0.1', () => {
  const controlPort = control.address().port
  process.stdout.write(JSON.stringify({ ready: true, grpcPort, controlPort }) + '\n')
})

const shutdown = async () => {
  control.close()
  await server.stop().catch(() => {})
  process.exit(0)
}
process.on('SIGTERM', shutdown)
process.on('SIGINT', shutdown)
