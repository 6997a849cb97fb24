import { createRequire as __WEBPACK_EXTERNAL_createRequire } from "module";
/******/ var __webpack_modules__ = ({

/***/ 785:
/***/ ((__unused_webpack_module, exports) => {


Object.defineProperty(exports, "__esModule", ({ value: true }));
// This is an empty module that is served up when outside of a workerd environment
// See the `exports` field in package.json
exports["default"] = {};
//# sourceMappingURL=empty.js.map

/***/ }),

/***/ 6122:
/***/ ((module, __unused_webpack_exports, __nccwpck_require__) => {



//Parse method copied from https://github.com/brianc/node-postgres
//Copyright (c) 2010-2014 Brian Carlson (brian.m.carlson@gmail.com)
//MIT License

//parses a connection string
function parse(str, options = {}) {
  //unix socket
  if (str.charAt(0) === '/') {
    const config = str.split(' ')
    return { host: config[0], database: config[1] }
  }

  // Check for empty host in URL

  const config = Object.create(null)
  let result
  let dummyHost = false
  if (/ |%[^a-f0-9]|%[a-f0-9][^a-f0-9]/i.test(str)) {
    // Ensure spaces are encoded as %20
    str = encodeURI(str).replace(/%25(\d\d)/g, '%$1')
  }

  try {
    try {
      result = new URL(str, 'postgres://base')
    } catch (e) {
      // The URL is invalid so try again with a dummy host
      result = new URL(str.replace('@/', '@___DUMMY___/'), 'postgres://base')
      dummyHost = true
    }
  } catch (err) {
    // Remove the input from the error message to avoid leaking sensitive information
    err.input && (err.input = '*****REDACTED*****')
    throw err
  }

  // We'd like to use Object.fromEntries() here but Node.js 10 does not support it
  for (const entry of result.searchParams.entries()) {
    config[entry[0]] = entry[1]
  }

  config.user = config.user || decodeURIComponent(result.username)
  config.password = config.password || decodeURIComponent(result.password)

  if (result.protocol == 'socket:') {
    config.host = decodeURI(result.pathname)
    config.database = result.searchParams.get('db')
    config.client_encoding = result.searchParams.get('encoding')
    return config
  }
  const hostname = (dummyHost ? '' : result.hostname).replace(/^\[(.+)\]$/, '$1')
  if (!config.host) {
    // Only set the host if there is no equivalent query param.
    config.host = decodeURIComponent(hostname)
  } else if (hostname && /^%2f/i.test(hostname)) {
    // Only prepend the hostname to the pathname if it is not a URL encoded Unix socket host.
    result.pathname = hostname + result.pathname
  }
  if (!config.port) {
    // Only set the port if there is no equivalent query param.
    config.port = result.port
  }

  const pathname = result.pathname.slice(1) || null
  config.database = pathname ? decodeURI(pathname) : null

  if (config.ssl === 'true' || config.ssl === '1') {
    config.ssl = true
  }

  if (config.ssl === '0') {
    config.ssl = false
  }

  if (config.sslcert || config.sslkey || config.sslrootcert || config.sslmode) {
    config.ssl = {}
  }

  // sslnegotiation=direct implies SSL is in use (libpq requires sslmode>=require),
  // so enable SSL if the connection string did not otherwise configure it.
  if (config.sslnegotiation === 'direct' && config.ssl === undefined) {
    config.ssl = true
  }

  // Only try to load fs if we expect to read from the disk
  const fs = config.sslcert || config.sslkey || config.sslrootcert ? __nccwpck_require__(9896) : null

  if (config.sslcert) {
    config.ssl.cert = fs.readFileSync(config.sslcert).toString()
  }

  if (config.sslkey) {
    config.ssl.key = fs.readFileSync(config.sslkey).toString()
  }

  if (config.sslrootcert) {
    config.ssl.ca = fs.readFileSync(config.sslrootcert).toString()
  }

  if (options.useLibpqCompat && config.uselibpqcompat) {
    throw new Error('Both useLibpqCompat and uselibpqcompat are set. Please use only one of them.')
  }

  if (config.uselibpqcompat === 'true' || options.useLibpqCompat) {
    switch (config.sslmode) {
      case 'disable': {
        config.ssl = false
        break
      }
      case 'prefer': {
        config.ssl.rejectUnauthorized = false
        break
      }
      case 'require': {
        if (config.sslrootcert) {
          // If a root CA is specified, behavior of `sslmode=require` will be the same as that of `verify-ca`
          config.ssl.checkServerIdentity = function () {}
        } else {
          config.ssl.rejectUnauthorized = false
        }
        break
      }
      case 'verify-ca': {
        if (!config.ssl.ca) {
          throw new Error(
            'SECURITY WARNING: Using sslmode=verify-ca requires specifying a CA with sslrootcert. If a public CA is used, verify-ca allows connections to a server that somebody else may have registered with the CA, making you vulnerable to Man-in-the-Middle attacks. Either specify a custom CA certificate with sslrootcert parameter or use sslmode=verify-full for proper security.'
          )
        }
        config.ssl.checkServerIdentity = function () {}
        break
      }
      case 'verify-full': {
        break
      }
    }
  } else {
    switch (config.sslmode) {
      case 'disable': {
        config.ssl = false
        break
      }
      case 'prefer':
      case 'require':
      case 'verify-ca':
      case 'verify-full': {
        if (config.sslmode !== 'verify-full') {
          deprecatedSslModeWarning(config.sslmode)
        }
        break
      }
      case 'no-verify': {
        config.ssl.rejectUnauthorized = false
        break
      }
    }
  }

  return config
}

// convert pg-connection-string ssl config to a ClientConfig.ConnectionOptions
function toConnectionOptions(sslConfig) {
  const connectionOptions = Object.entries(sslConfig).reduce((c, [key, value]) => {
    // we explicitly check for undefined and null instead of `if (value)` because some
    // options accept falsy values. Example: `ssl.rejectUnauthorized = false`
    if (value !== undefined && value !== null) {
      c[key] = value
    }

    return c
  }, Object.create(null))

  return connectionOptions
}

// convert pg-connection-string config to a ClientConfig
function toClientConfig(config) {
  const poolConfig = Object.entries(config).reduce((c, [key, value]) => {
    if (key === 'ssl') {
      const sslConfig = value

      if (typeof sslConfig === 'boolean') {
        c[key] = sslConfig
      }

      if (typeof sslConfig === 'object') {
        c[key] = toConnectionOptions(sslConfig)
      }
    } else if (value !== undefined && value !== null) {
      if (key === 'port') {
        // when port is not specified, it is converted into an empty string
        // we want to avoid NaN or empty string as a values in ClientConfig
        if (value !== '') {
          const v = parseInt(value, 10)
          if (isNaN(v)) {
            throw new Error(`Invalid ${key}: ${value}`)
          }

          c[key] = v
        }
      } else {
        c[key] = value
      }
    }

    return c
  }, Object.create(null))

  return poolConfig
}

// parses a connection string into ClientConfig
function parseIntoClientConfig(str) {
  return toClientConfig(parse(str))
}

function deprecatedSslModeWarning(sslmode) {
  if (!deprecatedSslModeWarning.warned && typeof process !== 'undefined' && process.emitWarning) {
    deprecatedSslModeWarning.warned = true
    process.emitWarning(`SECURITY WARNING: The SSL modes 'prefer', 'require', and 'verify-ca' are treated as aliases for 'verify-full'.
In the next major version (pg-connection-string v3.0.0 and pg v9.0.0), these modes will adopt standard libpq semantics, which have weaker security guarantees.

To prepare for this change:
- If you want the current behavior, explicitly use 'sslmode=verify-full'
- If you want libpq compatibility now, use 'uselibpqcompat=true&sslmode=${sslmode}'

See https://www.postgresql.org/docs/current/libpq-ssl.html for libpq SSL mode definitions.`)
  }
}

module.exports = parse

parse.parse = parse
parse.toClientConfig = toClientConfig
parse.parseIntoClientConfig = parseIntoClientConfig


/***/ }),

/***/ 2299:
/***/ ((module) => {



// selected so (BASE - 1) * 0x100000000 + 0xffffffff is a safe integer
var BASE = 1000000;

function readInt8(buffer) {
	var high = buffer.readInt32BE(0);
	var low = buffer.readUInt32BE(4);
	var sign = '';

	if (high < 0) {
		high = ~high + (low === 0);
		low = (~low + 1) >>> 0;
		sign = '-';
	}

	var result = '';
	var carry;
	var t;
	var digits;
	var pad;
	var l;
	var i;

	{
		carry = high % BASE;
		high = high / BASE >>> 0;

		t = 0x100000000 * carry + low;
		low = t / BASE >>> 0;
		digits = '' + (t - BASE * low);

		if (low === 0 && high === 0) {
			return sign + digits + result;
		}

		pad = '';
		l = 6 - digits.length;

		for (i = 0; i < l; i++) {
			pad += '0';
		}

		result = pad + digits + result;
	}

	{
		carry = high % BASE;
		high = high / BASE >>> 0;

		t = 0x100000000 * carry + low;
		low = t / BASE >>> 0;
		digits = '' + (t - BASE * low);

		if (low === 0 && high === 0) {
			return sign + digits + result;
		}

		pad = '';
		l = 6 - digits.length;

		for (i = 0; i < l; i++) {
			pad += '0';
		}

		result = pad + digits + result;
	}

	{
		carry = high % BASE;
		high = high / BASE >>> 0;

		t = 0x100000000 * carry + low;
		low = t / BASE >>> 0;
		digits = '' + (t - BASE * low);

		if (low === 0 && high === 0) {
			return sign + digits + result;
		}

		pad = '';
		l = 6 - digits.length;

		for (i = 0; i < l; i++) {
			pad += '0';
		}

		result = pad + digits + result;
	}

	{
		carry = high % BASE;
		t = 0x100000000 * carry + low;
		digits = '' + t % BASE;

		return sign + digits + result;
	}
}

module.exports = readInt8;


/***/ }),

/***/ 7558:
/***/ ((module, __unused_webpack_exports, __nccwpck_require__) => {


const EventEmitter = (__nccwpck_require__(4434).EventEmitter)

const NOOP = function () {}

const removeWhere = (list, predicate) => {
  const i = list.findIndex(predicate)

  return i === -1 ? undefined : list.splice(i, 1)[0]
}

class IdleItem {
  constructor(client, idleListener, timeoutId) {
    this.client = client
    this.idleListener = idleListener
    this.timeoutId = timeoutId
  }
}

class PendingItem {
  constructor(callback) {
    this.callback = callback
  }
}

function throwOnDoubleRelease() {
  throw new Error('Release called on client which has already been released to the pool.')
}

function promisify(Promise, callback) {
  if (callback) {
    return { callback: callback, result: undefined }
  }
  let rej
  let res
  const cb = function (err, client) {
    err ? rej(err) : res(client)
  }
  const result = new Promise(function (resolve, reject) {
    res = resolve
    rej = reject
  }).catch((err) => {
    // replace the stack trace that leads to `TCP.onStreamRead` with one that leads back to the
    // application that created the query
    Error.captureStackTrace(err)
    throw err
  })
  return { callback: cb, result: result }
}

function makeIdleListener(pool, client) {
  return function idleListener(err) {
    err.client = client

    client.removeListener('error', idleListener)
    client.on('error', () => {
      pool.log('additional client error after disconnection due to error', err)
    })
    pool._remove(client)
    // TODO - document that once the pool emits an error
    // the client has already been closed & purged and is unusable
    pool.emit('error', err, client)
  }
}

class Pool extends EventEmitter {
  constructor(options, Client) {
    super()
    this.options = Object.assign({}, options)

    if (options != null && 'password' in options) {
      // "hiding" the password so it doesn't show up in stack traces
      // or if the client is console.logged
      Object.defineProperty(this.options, 'password', {
        configurable: true,
        enumerable: false,
        writable: true,
        value: options.password,
      })
    }
    if (options != null && options.ssl && options.ssl.key) {
      // "hiding" the ssl->key so it doesn't show up in stack traces
      // or if the client is console.logged
      Object.defineProperty(this.options.ssl, 'key', {
        enumerable: false,
      })
    }

    this.options.max = this.options.max || this.options.poolSize || 10
    this.options.min = this.options.min || 0
    this.options.maxUses = this.options.maxUses || Infinity
    this.options.allowExitOnIdle = this.options.allowExitOnIdle || false
    this.options.maxLifetimeSeconds = this.options.maxLifetimeSeconds || 0
    this.log = this.options.log || function () {}
    this.Client = this.options.Client || Client || (__nccwpck_require__(3273).Client)
    this.Promise = this.options.Promise || global.Promise

    if (typeof this.options.idleTimeoutMillis === 'undefined') {
      this.options.idleTimeoutMillis = 10000
    }

    this._clients = []
    this._idle = []
    this._expired = new WeakSet()
    this._pendingQueue = []
    this._endCallback = undefined
    this.ending = false
    this.ended = false
  }

  _promiseTry(f) {
    const Promise = this.Promise
    if (typeof Promise.try === 'function') {
      return Promise.try(f)
    }
    return new Promise((resolve) => resolve(f()))
  }

  _isFull() {
    return this._clients.length >= this.options.max
  }

  _isAboveMin() {
    return this._clients.length > this.options.min
  }

  _pulseQueue() {
    this.log('pulse queue')
    if (this.ended) {
      this.log('pulse queue ended')
      return
    }
    if (this.ending) {
      this.log('pulse queue on ending')
      if (this._idle.length) {
        this._idle.slice().map((item) => {
          this._remove(item.client)
        })
      }
      if (!this._clients.length) {
        this.ended = true
        this._endCallback()
      }
      return
    }

    // if we don't have any waiting, do nothing
    if (!this._pendingQueue.length) {
      this.log('no queued requests')
      return
    }
    // if we don't have any idle clients and we have no more room do nothing
    if (!this._idle.length && this._isFull()) {
      return
    }
    const pendingItem = this._pendingQueue.shift()
    if (this._idle.length) {
      const idleItem = this._idle.pop()
      clearTimeout(idleItem.timeoutId)
      const client = idleItem.client
      client.ref && client.ref()
      const idleListener = idleItem.idleListener

      return this._acquireClient(client, pendingItem, idleListener, false)
    }
    if (!this._isFull()) {
      return this.newClient(pendingItem)
    }
    throw new Error('unexpected condition')
  }

  _remove(client, callback) {
    const removed = removeWhere(this._idle, (item) => item.client === client)

    if (removed !== undefined) {
      clearTimeout(removed.timeoutId)
    }

    this._clients = this._clients.filter((c) => c !== client)
    const context = this
    client.end(() => {
      context.emit('remove', client)

      if (typeof callback === 'function') {
        callback()
      }
    })
  }

  connect(cb) {
    if (this.ending) {
      const err = new Error('Cannot use a pool after calling end on the pool')
      return cb ? cb(err) : this.Promise.reject(err)
    }

    const response = promisify(this.Promise, cb)
    const result = response.result

    // if we don't have to connect a new client, don't do so
    if (this._isFull() || this._idle.length) {
      // if we have idle clients schedule a pulse immediately
      if (this._idle.length) {
        process.nextTick(() => this._pulseQueue())
      }

      if (!this.options.connectionTimeoutMillis) {
        this._pendingQueue.push(new PendingItem(response.callback))
        return result
      }

      const queueCallback = (err, res, done) => {
        clearTimeout(tid)
        response.callback(err, res, done)
      }

      const pendingItem = new PendingItem(queueCallback)

      // set connection timeout on checking out an existing client
      const tid = setTimeout(() => {
        // remove the callback from pending waiters because
        // we're going to call it with a timeout error
        removeWhere(this._pendingQueue, (i) => i.callback === queueCallback)
        pendingItem.timedOut = true
        response.callback(new Error('timeout exceeded when trying to connect'))
      }, this.options.connectionTimeoutMillis)

      if (tid.unref) {
        tid.unref()
      }

      this._pendingQueue.push(pendingItem)
      return result
    }

    this.newClient(new PendingItem(response.callback))

    return result
  }

  newClient(pendingItem) {
    const client = new this.Client(this.options)
    this._clients.push(client)
    const idleListener = makeIdleListener(this, client)

    this.log('checking client timeout')

    // connection timeout logic
    let tid
    let timeoutHit = false
    if (this.options.connectionTimeoutMillis) {
      tid = setTimeout(() => {
        if (client.connection) {
          this.log('ending client due to timeout')
          timeoutHit = true
          client.connection.stream.destroy()
        } else if (!client.isConnected()) {
          this.log('ending client due to timeout')
          timeoutHit = true
          // force kill the node driver, and let libpq do its teardown
          client.end()
        }
      }, this.options.connectionTimeoutMillis)
    }

    this.log('connecting new client')
    client.connect((err) => {
      if (tid) {
        clearTimeout(tid)
      }
      client.on('error', idleListener)
      if (err) {
        this.log('client failed to connect', err)
        // remove the dead client from our list of clients
        this._clients = this._clients.filter((c) => c !== client)
        if (timeoutHit) {
          err = new Error('Connection terminated due to connection timeout', { cause: err })
        }

        // this client won’t be released, so move on immediately
        this._pulseQueue()

        if (!pendingItem.timedOut) {
          pendingItem.callback(err, undefined, NOOP)
        }
      } else {
        this.log('new client connected')

        if (this.options.onConnect) {
          this._promiseTry(() => this.options.onConnect(client)).then(
            () => {
              this._afterConnect(client, pendingItem, idleListener)
            },
            (hookErr) => {
              this._clients = this._clients.filter((c) => c !== client)
              client.end(() => {
                this._pulseQueue()
                if (!pendingItem.timedOut) {
                  pendingItem.callback(hookErr, undefined, NOOP)
                }
              })
            }
          )
          return
        }

        return this._afterConnect(client, pendingItem, idleListener)
      }
    })
  }

  _afterConnect(client, pendingItem, idleListener) {
    if (this.options.maxLifetimeSeconds !== 0) {
      const maxLifetimeTimeout = setTimeout(() => {
        this.log('ending client due to expired lifetime')
        this._expired.add(client)
        const idleIndex = this._idle.findIndex((idleItem) => idleItem.client === client)
        if (idleIndex !== -1) {
          this._acquireClient(
            client,
            new PendingItem((err, client, clientRelease) => clientRelease()),
            idleListener,
            false
          )
        }
      }, this.options.maxLifetimeSeconds * 1000)

      maxLifetimeTimeout.unref()
      client.once('end', () => clearTimeout(maxLifetimeTimeout))
    }

    return this._acquireClient(client, pendingItem, idleListener, true)
  }

  // acquire a client for a pending work item
  _acquireClient(client, pendingItem, idleListener, isNew) {
    if (isNew) {
      this.emit('connect', client)
    }

    this.emit('acquire', client)

    client.release = this._releaseOnce(client, idleListener)

    client.removeListener('error', idleListener)

    if (!pendingItem.timedOut) {
      if (isNew && this.options.verify) {
        this.options.verify(client, (err) => {
          if (err) {
            client.release(err)
            return pendingItem.callback(err, undefined, NOOP)
          }

          pendingItem.callback(undefined, client, client.release)
        })
      } else {
        pendingItem.callback(undefined, client, client.release)
      }
    } else {
      if (isNew && this.options.verify) {
        this.options.verify(client, client.release)
      } else {
        client.release()
      }
    }
  }

  // returns a function that wraps _release and throws if called more than once
  _releaseOnce(client, idleListener) {
    let released = false

    return (err) => {
      if (released) {
        throwOnDoubleRelease()
      }

      released = true
      this._release(client, idleListener, err)
    }
  }

  // release a client back to the poll, include an error
  // to remove it from the pool
  _release(client, idleListener, err) {
    client.on('error', idleListener)

    client._poolUseCount = (client._poolUseCount || 0) + 1

    this.emit('release', err, client)

    // TODO(bmc): expose a proper, public interface _queryable and _ending
    if (err || this.ending || !client._queryable || client._ending || client._poolUseCount >= this.options.maxUses) {
      if (client._poolUseCount >= this.options.maxUses) {
        this.log('remove expended client')
      }

      return this._remove(client, this._pulseQueue.bind(this))
    }

    const isExpired = this._expired.has(client)
    if (isExpired) {
      this.log('remove expired client')
      this._expired.delete(client)
      return this._remove(client, this._pulseQueue.bind(this))
    }

    // idle timeout
    let tid
    if (this.options.idleTimeoutMillis && this._isAboveMin()) {
      tid = setTimeout(() => {
        if (this._isAboveMin()) {
          this.log('remove idle client')
          this._remove(client, this._pulseQueue.bind(this))
        }
      }, this.options.idleTimeoutMillis)

      if (this.options.allowExitOnIdle) {
        // allow Node to exit if this is all that's left
        tid.unref()
      }
    }

    if (this.options.allowExitOnIdle) {
      client.unref()
    }

    this._idle.push(new IdleItem(client, idleListener, tid))
    this._pulseQueue()
  }

  query(text, values, cb) {
    // guard clause against passing a function as the first parameter
    if (typeof text === 'function') {
      const response = promisify(this.Promise, text)
      setImmediate(function () {
        return response.callback(new Error('Passing a function as the first parameter to pool.query is not supported'))
      })
      return response.result
    }

    // allow plain text query without values, but callback
    if (typeof values === 'function') {
      cb = values
      values = undefined
    }
    const response = promisify(this.Promise, cb)
    cb = response.callback

    this.connect((err, client) => {
      if (err) {
        return cb(err)
      }

      let clientReleased = false
      const onError = (err) => {
        if (clientReleased) {
          return
        }
        clientReleased = true
        client.release(err)
        cb(err)
      }

      client.once('error', onError)
      this.log('dispatching query')
      try {
        client.query(text, values, (err, res) => {
          this.log('query dispatched')
          client.removeListener('error', onError)
          if (clientReleased) {
            return
          }
          clientReleased = true
          client.release(err)
          if (err) {
            return cb(err)
          }
          return cb(undefined, res)
        })
      } catch (err) {
        client.release(err)
        return cb(err)
      }
    })
    return response.result
  }

  end(cb) {
    this.log('ending')
    if (this.ending) {
      const err = new Error('Called end on pool more than once')
      return cb ? cb(err) : this.Promise.reject(err)
    }
    this.ending = true
    const promised = promisify(this.Promise, cb)
    this._endCallback = promised.callback
    this._pulseQueue()
    return promised.result
  }

  get waitingCount() {
    return this._pendingQueue.length
  }

  get idleCount() {
    return this._idle.length
  }

  get expiredCount() {
    return this._clients.reduce((acc, client) => acc + (this._expired.has(client) ? 1 : 0), 0)
  }

  get totalCount() {
    return this._clients.length
  }
}
module.exports = Pool


/***/ }),

/***/ 9971:
/***/ ((__unused_webpack_module, exports) => {


Object.defineProperty(exports, "__esModule", ({ value: true }));
exports.BufferReader = void 0;
class BufferReader {
    constructor(offset = 0) {
        this.offset = offset;
        this.buffer = Buffer.allocUnsafe(0);
        // TODO(bmc): support non-utf8 encoding?
        this.encoding = 'utf-8';
    }
    setBuffer(offset, buffer) {
        this.offset = offset;
        this.buffer = buffer;
    }
    int16() {
        const result = this.buffer.readInt16BE(this.offset);
        this.offset += 2;
        return result;
    }
    byte() {
        const result = this.buffer[this.offset];
        this.offset++;
        return result;
    }
    int32() {
        const result = this.buffer.readInt32BE(this.offset);
        this.offset += 4;
        return result;
    }
    uint32() {
        const result = this.buffer.readUInt32BE(this.offset);
        this.offset += 4;
        return result;
    }
    string(length) {
        const result = this.buffer.toString(this.encoding, this.offset, this.offset + length);
        this.offset += length;
        return result;
    }
    cstring() {
        const start = this.offset;
        let end = start;
        // eslint-disable-next-line no-empty
        while (this.buffer[end++]) { }
        this.offset = end;
        return this.buffer.toString(this.encoding, start, end - 1);
    }
    bytes(length) {
        const result = this.buffer.slice(this.offset, this.offset + length);
        this.offset += length;
        return result;
    }
}
exports.BufferReader = BufferReader;
//# sourceMappingURL=buffer-reader.js.map

/***/ }),

/***/ 9315:
/***/ ((__unused_webpack_module, exports) => {


//binary data writer tuned for encoding binary specific to the postgres binary protocol
Object.defineProperty(exports, "__esModule", ({ value: true }));
exports.Writer = void 0;
class Writer {
    constructor(size = 256) {
        this.size = size;
        this.offset = 5;
        this.headerPosition = 0;
        this.buffer = Buffer.allocUnsafe(size);
    }
    ensure(size) {
        const remaining = this.buffer.length - this.offset;
        if (remaining < size) {
            const oldBuffer = this.buffer;
            // exponential growth factor of around ~ 1.5
            // https://stackoverflow.com/questions/2269063/buffer-growth-strategy
            const newSize = oldBuffer.length + (oldBuffer.length >> 1) + size;
            this.buffer = Buffer.allocUnsafe(newSize);
            oldBuffer.copy(this.buffer, 0, 0, this.offset);
        }
    }
    addInt32(num) {
        this.ensure(4);
        this.buffer[this.offset++] = (num >>> 24) & 0xff;
        this.buffer[this.offset++] = (num >>> 16) & 0xff;
        this.buffer[this.offset++] = (num >>> 8) & 0xff;
        this.buffer[this.offset++] = (num >>> 0) & 0xff;
        return this;
    }
    addInt16(num) {
        this.ensure(2);
        this.buffer[this.offset++] = (num >>> 8) & 0xff;
        this.buffer[this.offset++] = (num >>> 0) & 0xff;
        return this;
    }
    addCString(string) {
        if (!string) {
            this.ensure(1);
        }
        else {
            const len = Buffer.byteLength(string);
            this.ensure(len + 1); // +1 for null terminator
            this.buffer.write(string, this.offset, 'utf-8');
            this.offset += len;
        }
        this.buffer[this.offset++] = 0; // null terminator
        return this;
    }
    addString(string = '') {
        const len = Buffer.byteLength(string);
        this.ensure(len);
        this.buffer.write(string, this.offset);
        this.offset += len;
        return this;
    }
    // Write an Int32 byte-length prefix immediately followed by the string's UTF-8
    // bytes. Postgres' Bind wire format prefixes every parameter with its length,
    // and doing it in one method computes Buffer.byteLength ONCE — the previous
    // `addInt32(Buffer.byteLength(s)).addString(s)` pairing scanned the string
    // three times (byteLength for the prefix, byteLength again inside addString,
    // then the encode), which is costly for large text parameters.
    addInt32PrefixedString(string) {
        const len = Buffer.byteLength(string);
        this.ensure(4 + len);
        const buffer = this.buffer;
        let offset = this.offset;
        buffer[offset++] = (len >>> 24) & 0xff;
        buffer[offset++] = (len >>> 16) & 0xff;
        buffer[offset++] = (len >>> 8) & 0xff;
        buffer[offset++] = (len >>> 0) & 0xff;
        buffer.write(string, offset, 'utf-8');
        this.offset = offset + len;
        return this;
    }
    add(otherBuffer) {
        this.ensure(otherBuffer.length);
        otherBuffer.copy(this.buffer, this.offset);
        this.offset += otherBuffer.length;
        return this;
    }
    /**
     * Appends an uninitialized block of {@link size} bytes to the buffer and returns its offset.
     */
    reserveUnsafe(size) {
        const offset = this.offset;
        this.ensure(size);
        this.offset += size;
        return offset;
    }
    join(code) {
        if (code) {
            this.buffer[this.headerPosition] = code;
            //length is everything in this packet minus the code
            const length = this.offset - (this.headerPosition + 1);
            this.buffer.writeInt32BE(length, this.headerPosition + 1);
        }
        return this.buffer.slice(code ? 0 : 5, this.offset);
    }
    flush(code) {
        const result = this.join(code);
        this.offset = 5;
        this.headerPosition = 0;
        this.buffer = Buffer.allocUnsafe(this.size);
        return result;
    }
    clear() {
        this.offset = 5;
        this.headerPosition = 0;
    }
}
exports.Writer = Writer;
//# sourceMappingURL=buffer-writer.js.map

/***/ }),

/***/ 4233:
/***/ ((__unused_webpack_module, exports, __nccwpck_require__) => {


Object.defineProperty(exports, "__esModule", ({ value: true }));
exports.DatabaseError = exports.serialize = void 0;
exports.parse = parse;
const messages_1 = __nccwpck_require__(5809);
Object.defineProperty(exports, "DatabaseError", ({ enumerable: true, get: function () { return messages_1.DatabaseError; } }));
const serializer_1 = __nccwpck_require__(6513);
Object.defineProperty(exports, "serialize", ({ enumerable: true, get: function () { return serializer_1.serialize; } }));
const parser_1 = __nccwpck_require__(3318);
function parse(stream, callback) {
    const parser = new parser_1.Parser();
    stream.on('data', (buffer) => parser.parse(buffer, callback));
    return new Promise((resolve) => stream.on('end', () => resolve()));
}
//# sourceMappingURL=index.js.map

/***/ }),

/***/ 5809:
/***/ ((__unused_webpack_module, exports) => {


Object.defineProperty(exports, "__esModule", ({ value: true }));
exports.NoticeMessage = exports.DataRowMessage = exports.CommandCompleteMessage = exports.ReadyForQueryMessage = exports.NotificationResponseMessage = exports.BackendKeyDataMessage = exports.AuthenticationMD5Password = exports.ParameterStatusMessage = exports.ParameterDescriptionMessage = exports.RowDescriptionMessage = exports.Field = exports.CopyResponse = exports.CopyDataMessage = exports.DatabaseError = exports.copyDone = exports.emptyQuery = exports.replicationStart = exports.portalSuspended = exports.noData = exports.closeComplete = exports.bindComplete = exports.parseComplete = void 0;
exports.parseComplete = {
    name: 'parseComplete',
    length: 5,
};
exports.bindComplete = {
    name: 'bindComplete',
    length: 5,
};
exports.closeComplete = {
    name: 'closeComplete',
    length: 5,
};
exports.noData = {
    name: 'noData',
    length: 5,
};
exports.portalSuspended = {
    name: 'portalSuspended',
    length: 5,
};
exports.replicationStart = {
    name: 'replicationStart',
    length: 4,
};
exports.emptyQuery = {
    name: 'emptyQuery',
    length: 4,
};
exports.copyDone = {
    name: 'copyDone',
    length: 4,
};
class DatabaseError extends Error {
    constructor(message, length, name) {
        super(message);
        this.length = length;
        this.name = name;
    }
}
exports.DatabaseError = DatabaseError;
class CopyDataMessage {
    constructor(length, chunk) {
        this.length = length;
        this.chunk = chunk;
        this.name = 'copyData';
    }
}
exports.CopyDataMessage = CopyDataMessage;
class CopyResponse {
    constructor(length, name, binary, columnCount) {
        this.length = length;
        this.name = name;
        this.binary = binary;
        this.columnTypes = new Array(columnCount);
    }
}
exports.CopyResponse = CopyResponse;
class Field {
    constructor(name, tableID, columnID, dataTypeID, dataTypeSize, dataTypeModifier, format) {
        this.name = name;
        this.tableID = tableID;
        this.columnID = columnID;
        this.dataTypeID = dataTypeID;
        this.dataTypeSize = dataTypeSize;
        this.dataTypeModifier = dataTypeModifier;
        this.format = format;
    }
}
exports.Field = Field;
class RowDescriptionMessage {
    constructor(length, fieldCount) {
        this.length = length;
        this.fieldCount = fieldCount;
        this.name = 'rowDescription';
        this.fields = new Array(this.fieldCount);
    }
}
exports.RowDescriptionMessage = RowDescriptionMessage;
class ParameterDescriptionMessage {
    constructor(length, parameterCount) {
        this.length = length;
        this.parameterCount = parameterCount;
        this.name = 'parameterDescription';
        this.dataTypeIDs = new Array(this.parameterCount);
    }
}
exports.ParameterDescriptionMessage = ParameterDescriptionMessage;
class ParameterStatusMessage {
    constructor(length, parameterName, parameterValue) {
        this.length = length;
        this.parameterName = parameterName;
        this.parameterValue = parameterValue;
        this.name = 'parameterStatus';
    }
}
exports.ParameterStatusMessage = ParameterStatusMessage;
class AuthenticationMD5Password {
    constructor(length, salt) {
        this.length = length;
        this.salt = salt;
        this.name = 'authenticationMD5Password';
    }
}
exports.AuthenticationMD5Password = AuthenticationMD5Password;
class BackendKeyDataMessage {
    constructor(length, processID, secretKey) {
        this.length = length;
        this.processID = processID;
        this.secretKey = secretKey;
        this.name = 'backendKeyData';
    }
}
exports.BackendKeyDataMessage = BackendKeyDataMessage;
class NotificationResponseMessage {
    constructor(length, processId, channel, payload) {
        this.length = length;
        this.processId = processId;
        this.channel = channel;
        this.payload = payload;
        this.name = 'notification';
    }
}
exports.NotificationResponseMessage = NotificationResponseMessage;
class ReadyForQueryMessage {
    constructor(length, status) {
        this.length = length;
        this.status = status;
        this.name = 'readyForQuery';
    }
}
exports.ReadyForQueryMessage = ReadyForQueryMessage;
class CommandCompleteMessage {
    constructor(length, text) {
        this.length = length;
        this.text = text;
        this.name = 'commandComplete';
    }
}
exports.CommandCompleteMessage = CommandCompleteMessage;
class DataRowMessage {
    constructor(length, fields) {
        this.length = length;
        this.fields = fields;
        this.name = 'dataRow';
        this.fieldCount = fields.length;
    }
}
exports.DataRowMessage = DataRowMessage;
class NoticeMessage {
    constructor(length, message) {
        this.length = length;
        this.message = message;
        this.name = 'notice';
    }
}
exports.NoticeMessage = NoticeMessage;
//# sourceMappingURL=messages.js.map

/***/ }),

/***/ 3318:
/***/ ((__unused_webpack_module, exports, __nccwpck_require__) => {


Object.defineProperty(exports, "__esModule", ({ value: true }));
exports.Parser = void 0;
const messages_1 = __nccwpck_require__(5809);
const buffer_reader_1 = __nccwpck_require__(9971);
// every message is prefixed with a single byte
const CODE_LENGTH = 1;
// every message has an int32 length which includes itself but does
// NOT include the code in the length
const LEN_LENGTH = 4;
const HEADER_LENGTH = CODE_LENGTH + LEN_LENGTH;
// A placeholder for a `BackendMessage`’s length value that will be set after construction.
const LATEINIT_LENGTH = -1;
const emptyBuffer = Buffer.allocUnsafe(0);
class Parser {
    constructor(opts) {
        this.buffer = emptyBuffer;
        this.bufferLength = 0;
        this.bufferOffset = 0;
        this.reader = new buffer_reader_1.BufferReader();
        if ((opts === null || opts === void 0 ? void 0 : opts.mode) === 'binary') {
            throw new Error('Binary mode not supported yet');
        }
        this.mode = (opts === null || opts === void 0 ? void 0 : opts.mode) || 'text';
    }
    parse(buffer, callback) {
        this.mergeBuffer(buffer);
        const bufferFullLength = this.bufferOffset + this.bufferLength;
        let offset = this.bufferOffset;
        while (offset + HEADER_LENGTH <= bufferFullLength) {
            // code is 1 byte long - it identifies the message type
            const code = this.buffer[offset];
            // length is 1 Uint32BE - it is the length of the message EXCLUDING the code
            const length = this.buffer.readUInt32BE(offset + CODE_LENGTH);
            const fullMessageLength = CODE_LENGTH + length;
            if (fullMessageLength + offset <= bufferFullLength) {
                const message = this.handlePacket(offset + HEADER_LENGTH, code, length, this.buffer);
                callback(message);
                offset += fullMessageLength;
            }
            else {
                break;
            }
        }
        if (offset === bufferFullLength) {
            // No more use for the buffer
            this.buffer = emptyBuffer;
            this.bufferLength = 0;
            this.bufferOffset = 0;
        }
        else {
            // Adjust the cursors of remainingBuffer
            this.bufferLength = bufferFullLength - offset;
            this.bufferOffset = offset;
        }
    }
    mergeBuffer(buffer) {
        if (this.bufferLength > 0) {
            const newLength = this.bufferLength + buffer.byteLength;
            const newFullLength = newLength + this.bufferOffset;
            if (newFullLength > this.buffer.byteLength) {
                // We can't concat the new buffer with the remaining one
                let newBuffer;
                if (newLength <= this.buffer.byteLength && this.bufferOffset >= this.bufferLength) {
                    // We can move the relevant part to the beginning of the buffer instead of allocating a new buffer
                    newBuffer = this.buffer;
                }
                else {
                    // Allocate a new larger buffer
                    let newBufferLength = this.buffer.byteLength * 2;
                    while (newLength >= newBufferLength) {
                        newBufferLength *= 2;
                    }
                    newBuffer = Buffer.allocUnsafe(newBufferLength);
                }
                // Move the remaining buffer to the new one
                this.buffer.copy(newBuffer, 0, this.bufferOffset, this.bufferOffset + this.bufferLength);
                this.buffer = newBuffer;
                this.bufferOffset = 0;
            }
            // Concat the new buffer with the remaining one
            buffer.copy(this.buffer, this.bufferOffset + this.bufferLength);
            this.bufferLength = newLength;
        }
        else {
            this.buffer = buffer;
            this.bufferOffset = 0;
            this.bufferLength = buffer.byteLength;
        }
    }
    handlePacket(offset, code, length, bytes) {
        const { reader } = this;
        // NOTE: This undesirably retains the buffer in `this.reader` if the `parse*Message` calls below throw. However, those should only throw in the case of a protocol error, which normally results in the reader being discarded.
        reader.setBuffer(offset, bytes);
        let message;
        switch (code) {
            case 50 /* MessageCodes.BindComplete */:
                message = messages_1.bindComplete;
                break;
            case 49 /* MessageCodes.ParseComplete */:
                message = messages_1.parseComplete;
                break;
            case 51 /* MessageCodes.CloseComplete */:
                message = messages_1.closeComplete;
                break;
            case 110 /* MessageCodes.NoData */:
                message = messages_1.noData;
                break;
            case 115 /* MessageCodes.PortalSuspended */:
                message = messages_1.portalSuspended;
                break;
            case 99 /* MessageCodes.CopyDone */:
                message = messages_1.copyDone;
                break;
            case 87 /* MessageCodes.ReplicationStart */:
                message = messages_1.replicationStart;
                break;
            case 73 /* MessageCodes.EmptyQuery */:
                message = messages_1.emptyQuery;
                break;
            case 68 /* MessageCodes.DataRow */:
                message = parseDataRowMessage(reader);
                break;
            case 67 /* MessageCodes.CommandComplete */:
                message = parseCommandCompleteMessage(reader);
                break;
            case 90 /* MessageCodes.ReadyForQuery */:
                message = parseReadyForQueryMessage(reader);
                break;
            case 65 /* MessageCodes.NotificationResponse */:
                message = parseNotificationMessage(reader);
                break;
            case 82 /* MessageCodes.AuthenticationResponse */:
                message = parseAuthenticationResponse(reader, length);
                break;
            case 83 /* MessageCodes.ParameterStatus */:
                message = parseParameterStatusMessage(reader);
                break;
            case 75 /* MessageCodes.BackendKeyData */:
                message = parseBackendKeyData(reader);
                break;
            case 69 /* MessageCodes.ErrorMessage */:
                message = parseErrorMessage(reader, 'error');
                break;
            case 78 /* MessageCodes.NoticeMessage */:
                message = parseErrorMessage(reader, 'notice');
                break;
            case 84 /* MessageCodes.RowDescriptionMessage */:
                message = parseRowDescriptionMessage(reader);
                break;
            case 116 /* MessageCodes.ParameterDescriptionMessage */:
                message = parseParameterDescriptionMessage(reader);
                break;
            case 71 /* MessageCodes.CopyIn */:
                message = parseCopyInMessage(reader);
                break;
            case 72 /* MessageCodes.CopyOut */:
                message = parseCopyOutMessage(reader);
                break;
            case 100 /* MessageCodes.CopyData */:
                message = parseCopyData(reader, length);
                break;
            default:
                return new messages_1.DatabaseError('received invalid response: ' + code.toString(16), length, 'error');
        }
        reader.setBuffer(0, emptyBuffer);
        message.length = length;
        return message;
    }
}
exports.Parser = Parser;
const parseReadyForQueryMessage = (reader) => {
    const status = reader.string(1);
    return new messages_1.ReadyForQueryMessage(LATEINIT_LENGTH, status);
};
const parseCommandCompleteMessage = (reader) => {
    const text = reader.cstring();
    return new messages_1.CommandCompleteMessage(LATEINIT_LENGTH, text);
};
const parseCopyData = (reader, length) => {
    const chunk = reader.bytes(length - 4);
    return new messages_1.CopyDataMessage(LATEINIT_LENGTH, chunk);
};
const parseCopyInMessage = (reader) => parseCopyMessage(reader, 'copyInResponse');
const parseCopyOutMessage = (reader) => parseCopyMessage(reader, 'copyOutResponse');
const parseCopyMessage = (reader, messageName) => {
    const isBinary = reader.byte() !== 0;
    const columnCount = reader.int16();
    const message = new messages_1.CopyResponse(LATEINIT_LENGTH, messageName, isBinary, columnCount);
    for (let i = 0; i < columnCount; i++) {
        message.columnTypes[i] = reader.int16();
    }
    return message;
};
const parseNotificationMessage = (reader) => {
    const processId = reader.int32();
    const channel = reader.cstring();
    const payload = reader.cstring();
    return new messages_1.NotificationResponseMessage(LATEINIT_LENGTH, processId, channel, payload);
};
const parseRowDescriptionMessage = (reader) => {
    const fieldCount = reader.int16();
    const message = new messages_1.RowDescriptionMessage(LATEINIT_LENGTH, fieldCount);
    for (let i = 0; i < fieldCount; i++) {
        message.fields[i] = parseField(reader);
    }
    return message;
};
const parseField = (reader) => {
    const name = reader.cstring();
    const tableID = reader.uint32();
    const columnID = reader.int16();
    const dataTypeID = reader.uint32();
    const dataTypeSize = reader.int16();
    const dataTypeModifier = reader.int32();
    const mode = reader.int16() === 0 ? 'text' : 'binary';
    return new messages_1.Field(name, tableID, columnID, dataTypeID, dataTypeSize, dataTypeModifier, mode);
};
const parseParameterDescriptionMessage = (reader) => {
    const parameterCount = reader.int16();
    const message = new messages_1.ParameterDescriptionMessage(LATEINIT_LENGTH, parameterCount);
    for (let i = 0; i < parameterCount; i++) {
        // OIDs are unsigned, same as dataTypeID in parseField above
        message.dataTypeIDs[i] = reader.uint32();
    }
    return message;
};
const parseDataRowMessage = (reader) => {
    const fieldCount = reader.int16();
    const fields = new Array(fieldCount);
    for (let i = 0; i < fieldCount; i++) {
        const len = reader.int32();
        // a -1 for length means the value of the field is null
        fields[i] = len === -1 ? null : reader.string(len);
    }
    return new messages_1.DataRowMessage(LATEINIT_LENGTH, fields);
};
const parseParameterStatusMessage = (reader) => {
    const name = reader.cstring();
    const value = reader.cstring();
    return new messages_1.ParameterStatusMessage(LATEINIT_LENGTH, name, value);
};
const parseBackendKeyData = (reader) => {
    const processID = reader.int32();
    const secretKey = reader.int32();
    return new messages_1.BackendKeyDataMessage(LATEINIT_LENGTH, processID, secretKey);
};
const parseAuthenticationResponse = (reader, length) => {
    const code = reader.int32();
    // TODO(bmc): maybe better types here
    const message = {
        name: 'authenticationOk',
        length,
    };
    switch (code) {
        case 0: // AuthenticationOk
            break;
        case 3: // AuthenticationCleartextPassword
            if (message.length === 8) {
                message.name = 'authenticationCleartextPassword';
            }
            break;
        case 5: // AuthenticationMD5Password
            if (message.length === 12) {
                message.name = 'authenticationMD5Password';
                const salt = reader.bytes(4);
                return new messages_1.AuthenticationMD5Password(LATEINIT_LENGTH, salt);
            }
            break;
        case 10: // AuthenticationSASL
            {
                message.name = 'authenticationSASL';
                message.mechanisms = [];
                let mechanism;
                do {
                    mechanism = reader.cstring();
                    if (mechanism) {
                        message.mechanisms.push(mechanism);
                    }
                } while (mechanism);
            }
            break;
        case 11: // AuthenticationSASLContinue
            message.name = 'authenticationSASLContinue';
            message.data = reader.string(length - 8);
            break;
        case 12: // AuthenticationSASLFinal
            message.name = 'authenticationSASLFinal';
            message.data = reader.string(length - 8);
            break;
        default:
            throw new Error('Unknown authenticationOk message type ' + code);
    }
    return message;
};
const parseErrorMessage = (reader, name) => {
    const fields = {};
    let fieldType = reader.string(1);
    while (fieldType !== '\0') {
        fields[fieldType] = reader.cstring();
        fieldType = reader.string(1);
    }
    const messageValue = fields.M;
    const message = name === 'notice'
        ? new messages_1.NoticeMessage(LATEINIT_LENGTH, messageValue)
        : new messages_1.DatabaseError(messageValue, LATEINIT_LENGTH, name);
    message.severity = fields.S;
    message.code = fields.C;
    message.detail = fields.D;
    message.hint = fields.H;
    message.position = fields.P;
    message.internalPosition = fields.p;
    message.internalQuery = fields.q;
    message.where = fields.W;
    message.schema = fields.s;
    message.table = fields.t;
    message.column = fields.c;
    message.dataType = fields.d;
    message.constraint = fields.n;
    message.file = fields.F;
    message.line = fields.L;
    message.routine = fields.R;
    return message;
};
//# sourceMappingURL=parser.js.map

/***/ }),

/***/ 6513:
/***/ ((__unused_webpack_module, exports, __nccwpck_require__) => {


Object.defineProperty(exports, "__esModule", ({ value: true }));
exports.serialize = void 0;
const buffer_writer_1 = __nccwpck_require__(9315);
const writer = new buffer_writer_1.Writer();
const startup = (opts) => {
    // protocol version
    writer.addInt16(3).addInt16(0);
    for (const key of Object.keys(opts)) {
        writer.addCString(key).addCString(opts[key]);
    }
    writer.addCString('client_encoding').addCString('UTF8');
    const bodyBuffer = writer.addCString('').flush();
    // this message is sent without a code
    const length = bodyBuffer.length + 4;
    return new buffer_writer_1.Writer().addInt32(length).add(bodyBuffer).flush();
};
const requestSsl = () => {
    const response = Buffer.allocUnsafe(8);
    response.writeInt32BE(8, 0);
    response.writeInt32BE(80877103, 4);
    return response;
};
const password = (password) => {
    return writer.addCString(password).flush(112 /* code.startup */);
};
const sendSASLInitialResponseMessage = function (mechanism, initialResponse) {
    // 0x70 = 'p'
    writer.addCString(mechanism).addInt32PrefixedString(initialResponse);
    return writer.flush(112 /* code.startup */);
};
const sendSCRAMClientFinalMessage = function (additionalData) {
    return writer.addString(additionalData).flush(112 /* code.startup */);
};
const query = (text) => {
    return writer.addCString(text).flush(81 /* code.query */);
};
const emptyArray = [];
const parse = (query) => {
    // expect something like this:
    // { name: 'queryName',
    //   text: 'select * from blah',
    //   types: ['int8', 'bool'] }
    // normalize missing query names to allow for null
    const name = query.name || '';
    if (name.length > 63) {
        console.error('Warning! Postgres only supports 63 characters for query names.');
        console.error('You supplied %s (%s)', name, name.length);
        console.error('This can cause conflicts and silent errors executing queries');
    }
    const types = query.types || emptyArray;
    const len = types.length;
    const buffer = writer
        .addCString(name) // name of query
        .addCString(query.text) // actual query text
        .addInt16(len);
    for (let i = 0; i < len; i++) {
        buffer.addInt32(types[i]);
    }
    return writer.flush(80 /* code.parse */);
};
const writeValues = function (values, valueMapper, formatsOffset) {
    const len = values.length;
    for (let i = 0; i < len; i++) {
        const mappedVal = valueMapper ? valueMapper(values[i], i) : values[i];
        let formatByte = 0 /* ParamType.STRING */;
        if (mappedVal == null) {
            // write -1 to indicate null
            writer.addInt32(-1);
        }
        else if (mappedVal instanceof Buffer) {
            formatByte = 1 /* ParamType.BINARY */;
            // add the buffer to the param writer
            writer.addInt32(mappedVal.length);
            writer.add(mappedVal);
        }
        else {
            // length prefix + UTF-8 bytes in one pass (Buffer.byteLength computed once)
            writer.addInt32PrefixedString(mappedVal);
        }
        // beware: `writer` operations can replace `writer.buffer` with a new buffer
        const buf = writer.buffer;
        buf[formatsOffset++] = 0;
        buf[formatsOffset++] = formatByte;
    }
};
const bind = (config = {}) => {
    // normalize config
    const portal = config.portal || '';
    const statement = config.statement || '';
    const binary = config.binary || false;
    const values = config.values || emptyArray;
    const len = values.length;
    writer.addCString(portal).addCString(statement);
    // number of parameter format codes
    writer.addInt16(len);
    // space for those codes, filled by `writeValues`
    const formatsOffset = writer.reserveUnsafe(len * 2);
    // number of parameter values
    writer.addInt16(len);
    try {
        writeValues(values, config.valueMapper, formatsOffset);
    }
    catch (err) {
        writer.clear();
        throw err;
    }
    // all results use the same format code
    writer.addInt16(1);
    // format code
    writer.addInt16(binary ? 1 /* ParamType.BINARY */ : 0 /* ParamType.STRING */);
    return writer.flush(66 /* code.bind */);
};
const emptyExecute = Buffer.from([69 /* code.execute */, 0x00, 0x00, 0x00, 0x09, 0x00, 0x00, 0x00, 0x00, 0x00]);
const execute = (config) => {
    // this is the happy path for most queries
    if (!config || (!config.portal && !config.rows)) {
        return emptyExecute;
    }
    const portal = config.portal || '';
    const rows = config.rows || 0;
    const portalLength = Buffer.byteLength(portal);
    const len = 4 + portalLength + 1 + 4;
    // one extra bit for code
    const buff = Buffer.allocUnsafe(1 + len);
    buff[0] = 69 /* code.execute */;
    buff.writeInt32BE(len, 1);
    buff.write(portal, 5, 'utf-8');
    buff[portalLength + 5] = 0; // null terminate portal cString
    buff.writeUInt32BE(rows, buff.length - 4);
    return buff;
};
const cancel = (processID, secretKey) => {
    const buffer = Buffer.allocUnsafe(16);
    buffer.writeInt32BE(16, 0);
    buffer.writeInt16BE(1234, 4);
    buffer.writeInt16BE(5678, 6);
    buffer.writeInt32BE(processID, 8);
    buffer.writeInt32BE(secretKey, 12);
    return buffer;
};
const cstringMessage = (code, string) => {
    const stringLen = Buffer.byteLength(string);
    const len = 4 + stringLen + 1;
    // one extra bit for code
    const buffer = Buffer.allocUnsafe(1 + len);
    buffer[0] = code;
    buffer.writeInt32BE(len, 1);
    buffer.write(string, 5, 'utf-8');
    buffer[len] = 0; // null terminate cString
    return buffer;
};
const emptyDescribePortal = writer.addCString('P').flush(68 /* code.describe */);
const emptyDescribeStatement = writer.addCString('S').flush(68 /* code.describe */);
const describe = (msg) => {
    return msg.name
        ? cstringMessage(68 /* code.describe */, `${msg.type}${msg.name || ''}`)
        : msg.type === 'P'
            ? emptyDescribePortal
            : emptyDescribeStatement;
};
const close = (msg) => {
    const text = `${msg.type}${msg.name || ''}`;
    return cstringMessage(67 /* code.close */, text);
};
const copyData = (chunk) => {
    return writer.add(chunk).flush(100 /* code.copyFromChunk */);
};
const copyFail = (message) => {
    return cstringMessage(102 /* code.copyFail */, message);
};
const codeOnlyBuffer = (code) => Buffer.from([code, 0x00, 0x00, 0x00, 0x04]);
const flushBuffer = codeOnlyBuffer(72 /* code.flush */);
const syncBuffer = codeOnlyBuffer(83 /* code.sync */);
const endBuffer = codeOnlyBuffer(88 /* code.end */);
const copyDoneBuffer = codeOnlyBuffer(99 /* code.copyDone */);
const serialize = {
    startup,
    password,
    requestSsl,
    sendSASLInitialResponseMessage,
    sendSCRAMClientFinalMessage,
    query,
    parse,
    bind,
    execute,
    describe,
    close,
    flush: () => flushBuffer,
    sync: () => syncBuffer,
    end: () => endBuffer,
    copyData,
    copyDone: () => copyDoneBuffer,
    copyFail,
    cancel,
};
exports.serialize = serialize;
//# sourceMappingURL=serializer.js.map

/***/ }),

/***/ 1549:
/***/ ((__unused_webpack_module, exports, __nccwpck_require__) => {

var textParsers = __nccwpck_require__(4784);
var binaryParsers = __nccwpck_require__(7522);
var arrayParser = __nccwpck_require__(6471);
var builtinTypes = __nccwpck_require__(6345);

exports.getTypeParser = getTypeParser;
exports.setTypeParser = setTypeParser;
exports.arrayParser = arrayParser;
exports.builtins = builtinTypes;

var typeParsers = {
  text: {},
  binary: {}
};

//the empty parse function
function noParse (val) {
  return String(val);
};

//returns a function used to convert a specific type (specified by
//oid) into a result javascript type
//note: the oid can be obtained via the following sql query:
//SELECT oid FROM pg_type WHERE typname = 'TYPE_NAME_HERE';
function getTypeParser (oid, format) {
  format = format || 'text';
  if (!typeParsers[format]) {
    return noParse;
  }
  return typeParsers[format][oid] || noParse;
};

function setTypeParser (oid, format, parseFn) {
  if(typeof format == 'function') {
    parseFn = format;
    format = 'text';
  }
  typeParsers[format][oid] = parseFn;
};

textParsers.init(function(oid, converter) {
  typeParsers.text[oid] = converter;
});

binaryParsers.init(function(oid, converter) {
  typeParsers.binary[oid] = converter;
});


/***/ }),

/***/ 6471:
/***/ ((module, __unused_webpack_exports, __nccwpck_require__) => {

var array = __nccwpck_require__(3879);

module.exports = {
  create: function (source, transform) {
    return {
      parse: function() {
        return array.parse(source, transform);
      }
    };
  }
};


/***/ }),

/***/ 7522:
/***/ ((module, __unused_webpack_exports, __nccwpck_require__) => {

var parseInt64 = __nccwpck_require__(2299);

var parseBits = function(data, bits, offset, invert, callback) {
  offset = offset || 0;
  invert = invert || false;
  callback = callback || function(lastValue, newValue, bits) { return (lastValue * Math.pow(2, bits)) + newValue; };
  var offsetBytes = offset >> 3;

  var inv = function(value) {
    if (invert) {
      return ~value & 0xff;
    }

    return value;
  };

  // read first (maybe partial) byte
  var mask = 0xff;
  var firstBits = 8 - (offset % 8);
  if (bits < firstBits) {
    mask = (0xff << (8 - bits)) & 0xff;
    firstBits = bits;
  }

  if (offset) {
    mask = mask >> (offset % 8);
  }

  var result = 0;
  if ((offset % 8) + bits >= 8) {
    result = callback(0, inv(data[offsetBytes]) & mask, firstBits);
  }

  // read bytes
  var bytes = (bits + offset) >> 3;
  for (var i = offsetBytes + 1; i < bytes; i++) {
    result = callback(result, inv(data[i]), 8);
  }

  // bits to read, that are not a complete byte
  var lastBits = (bits + offset) % 8;
  if (lastBits > 0) {
    result = callback(result, inv(data[bytes]) >> (8 - lastBits), lastBits);
  }

  return result;
};

var parseFloatFromBits = function(data, precisionBits, exponentBits) {
  var bias = Math.pow(2, exponentBits - 1) - 1;
  var sign = parseBits(data, 1);
  var exponent = parseBits(data, exponentBits, 1);

  if (exponent === 0) {
    return 0;
  }

  // parse mantissa
  var precisionBitsCounter = 1;
  var parsePrecisionBits = function(lastValue, newValue, bits) {
    if (lastValue === 0) {
      lastValue = 1;
    }

    for (var i = 1; i <= bits; i++) {
      precisionBitsCounter /= 2;
      if ((newValue & (0x1 << (bits - i))) > 0) {
        lastValue += precisionBitsCounter;
      }
    }

    return lastValue;
  };

  var mantissa = parseBits(data, precisionBits, exponentBits + 1, false, parsePrecisionBits);

  // special cases
  if (exponent == (Math.pow(2, exponentBits + 1) - 1)) {
    if (mantissa === 0) {
      return (sign === 0) ? Infinity : -Infinity;
    }

    return NaN;
  }

  // normale number
  return ((sign === 0) ? 1 : -1) * Math.pow(2, exponent - bias) * mantissa;
};

var parseInt16 = function(value) {
  if (parseBits(value, 1) == 1) {
    return -1 * (parseBits(value, 15, 1, true) + 1);
  }

  return parseBits(value, 15, 1);
};

var parseInt32 = function(value) {
  if (parseBits(value, 1) == 1) {
    return -1 * (parseBits(value, 31, 1, true) + 1);
  }

  return parseBits(value, 31, 1);
};

var parseFloat32 = function(value) {
  return parseFloatFromBits(value, 23, 8);
};

var parseFloat64 = function(value) {
  return parseFloatFromBits(value, 52, 11);
};

var parseNumeric = function(value) {
  var sign = parseBits(value, 16, 32);
  if (sign == 0xc000) {
    return NaN;
  }

  var weight = Math.pow(10000, parseBits(value, 16, 16));
  var result = 0;

  var digits = [];
  var ndigits = parseBits(value, 16);
  for (var i = 0; i < ndigits; i++) {
    result += parseBits(value, 16, 64 + (16 * i)) * weight;
    weight /= 10000;
  }

  var scale = Math.pow(10, parseBits(value, 16, 48));
  return ((sign === 0) ? 1 : -1) * Math.round(result * scale) / scale;
};

var parseDate = function(isUTC, value) {
  var sign = parseBits(value, 1);
  var rawValue = parseBits(value, 63, 1);

  // discard usecs and shift from 2000 to 1970
  var result = new Date((((sign === 0) ? 1 : -1) * rawValue / 1000) + 946684800000);

  if (!isUTC) {
    result.setTime(result.getTime() + result.getTimezoneOffset() * 60000);
  }

  // add microseconds to the date
  result.usec = rawValue % 1000;
  result.getMicroSeconds = function() {
    return this.usec;
  };
  result.setMicroSeconds = function(value) {
    this.usec = value;
  };
  result.getUTCMicroSeconds = function() {
    return this.usec;
  };

  return result;
};

var parseArray = function(value) {
  var dim = parseBits(value, 32);

  var flags = parseBits(value, 32, 32);
  var elementType = parseBits(value, 32, 64);

  var offset = 96;
  var dims = [];
  for (var i = 0; i < dim; i++) {
    // parse dimension
    dims[i] = parseBits(value, 32, offset);
    offset += 32;

    // ignore lower bounds
    offset += 32;
  }

  var parseElement = function(elementType) {
    // parse content length
    var length = parseBits(value, 32, offset);
    offset += 32;

    // parse null values
    if (length == 0xffffffff) {
      return null;
    }

    var result;
    if ((elementType == 0x17) || (elementType == 0x14)) {
      // int/bigint
      result = parseBits(value, length * 8, offset);
      offset += length * 8;
      return result;
    }
    else if (elementType == 0x19) {
      // string
      result = value.toString(this.encoding, offset >> 3, (offset += (length << 3)) >> 3);
      return result;
    }
    else {
      console.log("ERROR: ElementType not implemented: " + elementType);
    }
  };

  var parse = function(dimension, elementType) {
    var array = [];
    var i;

    if (dimension.length > 1) {
      var count = dimension.shift();
      for (i = 0; i < count; i++) {
        array[i] = parse(dimension, elementType);
      }
      dimension.unshift(count);
    }
    else {
      for (i = 0; i < dimension[0]; i++) {
        array[i] = parseElement(elementType);
      }
    }

    return array;
  };

  return parse(dims, elementType);
};

var parseText = function(value) {
  return value.toString('utf8');
};

var parseBool = function(value) {
  if(value === null) return null;
  return (parseBits(value, 8) > 0);
};

var init = function(register) {
  register(20, parseInt64);
  register(21, parseInt16);
  register(23, parseInt32);
  register(26, parseInt32);
  register(1700, parseNumeric);
  register(700, parseFloat32);
  register(701, parseFloat64);
  register(16, parseBool);
  register(1114, parseDate.bind(null, false));
  register(1184, parseDate.bind(null, true));
  register(1000, parseArray);
  register(1007, parseArray);
  register(1016, parseArray);
  register(1008, parseArray);
  register(1009, parseArray);
  register(25, parseText);
};

module.exports = {
  init: init
};


/***/ }),

/***/ 6345:
/***/ ((module) => {

/**
 * Following query was used to generate this file:

 SELECT json_object_agg(UPPER(PT.typname), PT.oid::int4 ORDER BY pt.oid)
 FROM pg_type PT
 WHERE typnamespace = (SELECT pgn.oid FROM pg_namespace pgn WHERE nspname = 'pg_catalog') -- Take only builting Postgres types with stable OID (extension types are not guaranted to be stable)
 AND typtype = 'b' -- Only basic types
 AND typelem = 0 -- Ignore aliases
 AND typisdefined -- Ignore undefined types
 */

module.exports = {
    BOOL: 16,
    BYTEA: 17,
    CHAR: 18,
    INT8: 20,
    INT2: 21,
    INT4: 23,
    REGPROC: 24,
    TEXT: 25,
    OID: 26,
    TID: 27,
    XID: 28,
    CID: 29,
    JSON: 114,
    XML: 142,
    PG_NODE_TREE: 194,
    SMGR: 210,
    PATH: 602,
    POLYGON: 604,
    CIDR: 650,
    FLOAT4: 700,
    FLOAT8: 701,
    ABSTIME: 702,
    RELTIME: 703,
    TINTERVAL: 704,
    CIRCLE: 718,
    MACADDR8: 774,
    MONEY: 790,
    MACADDR: 829,
    INET: 869,
    ACLITEM: 1033,
    BPCHAR: 1042,
    VARCHAR: 1043,
    DATE: 1082,
    TIME: 1083,
    TIMESTAMP: 1114,
    TIMESTAMPTZ: 1184,
    INTERVAL: 1186,
    TIMETZ: 1266,
    BIT: 1560,
    VARBIT: 1562,
    NUMERIC: 1700,
    REFCURSOR: 1790,
    REGPROCEDURE: 2202,
    REGOPER: 2203,
    REGOPERATOR: 2204,
    REGCLASS: 2205,
    REGTYPE: 2206,
    UUID: 2950,
    TXID_SNAPSHOT: 2970,
    PG_LSN: 3220,
    PG_NDISTINCT: 3361,
    PG_DEPENDENCIES: 3402,
    TSVECTOR: 3614,
    TSQUERY: 3615,
    GTSVECTOR: 3642,
    REGCONFIG: 3734,
    REGDICTIONARY: 3769,
    JSONB: 3802,
    REGNAMESPACE: 4089,
    REGROLE: 4096
};


/***/ }),

/***/ 4784:
/***/ ((module, __unused_webpack_exports, __nccwpck_require__) => {

var array = __nccwpck_require__(3879)
var arrayParser = __nccwpck_require__(6471);
var parseDate = __nccwpck_require__(2690);
var parseInterval = __nccwpck_require__(8755);
var parseByteA = __nccwpck_require__(463);

function allowNull (fn) {
  return function nullAllowed (value) {
    if (value === null) return value
    return fn(value)
  }
}

function parseBool (value) {
  if (value === null) return value
  return value === 'TRUE' ||
    value === 't' ||
    value === 'true' ||
    value === 'y' ||
    value === 'yes' ||
    value === 'on' ||
    value === '1';
}

function parseBoolArray (value) {
  if (!value) return null
  return array.parse(value, parseBool)
}

function parseBaseTenInt (string) {
  return parseInt(string, 10)
}

function parseIntegerArray (value) {
  if (!value) return null
  return array.parse(value, allowNull(parseBaseTenInt))
}

function parseBigIntegerArray (value) {
  if (!value) return null
  return array.parse(value, allowNull(function (entry) {
    return parseBigInteger(entry).trim()
  }))
}

var parsePointArray = function(value) {
  if(!value) { return null; }
  var p = arrayParser.create(value, function(entry) {
    if(entry !== null) {
      entry = parsePoint(entry);
    }
    return entry;
  });

  return p.parse();
};

var parseFloatArray = function(value) {
  if(!value) { return null; }
  var p = arrayParser.create(value, function(entry) {
    if(entry !== null) {
      entry = parseFloat(entry);
    }
    return entry;
  });

  return p.parse();
};

var parseStringArray = function(value) {
  if(!value) { return null; }

  var p = arrayParser.create(value);
  return p.parse();
};

var parseDateArray = function(value) {
  if (!value) { return null; }

  var p = arrayParser.create(value, function(entry) {
    if (entry !== null) {
      entry = parseDate(entry);
    }
    return entry;
  });

  return p.parse();
};

var parseIntervalArray = function(value) {
  if (!value) { return null; }

  var p = arrayParser.create(value, function(entry) {
    if (entry !== null) {
      entry = parseInterval(entry);
    }
    return entry;
  });

  return p.parse();
};

var parseByteAArray = function(value) {
  if (!value) { return null; }

  return array.parse(value, allowNull(parseByteA));
};

var parseInteger = function(value) {
  return parseInt(value, 10);
};

var parseBigInteger = function(value) {
  var valStr = String(value);
  if (/^\d+$/.test(valStr)) { return valStr; }
  return value;
};

var parseJsonArray = function(value) {
  if (!value) { return null; }

  return array.parse(value, allowNull(JSON.parse));
};

var parsePoint = function(value) {
  if (value[0] !== '(') { return null; }

  value = value.substring( 1, value.length - 1 ).split(',');

  return {
    x: parseFloat(value[0])
  , y: parseFloat(value[1])
  };
};

var parseCircle = function(value) {
  if (value[0] !== '<' && value[1] !== '(') { return null; }

  var point = '(';
  var radius = '';
  var pointParsed = false;
  for (var i = 2; i < value.length - 1; i++){
    if (!pointParsed) {
      point += value[i];
    }

    if (value[i] === ')') {
      pointParsed = true;
      continue;
    } else if (!pointParsed) {
      continue;
    }

    if (value[i] === ','){
      continue;
    }

    radius += value[i];
  }
  var result = parsePoint(point);
  result.radius = parseFloat(radius);

  return result;
};

var init = function(register) {
  register(20, parseBigInteger); // int8
  register(21, parseInteger); // int2
  register(23, parseInteger); // int4
  register(26, parseInteger); // oid
  register(700, parseFloat); // float4/real
  register(701, parseFloat); // float8/double
  register(16, parseBool);
  register(1082, parseDate); // date
  register(1114, parseDate); // timestamp without timezone
  register(1184, parseDate); // timestamp
  register(600, parsePoint); // point
  register(651, parseStringArray); // cidr[]
  register(718, parseCircle); // circle
  register(1000, parseBoolArray);
  register(1001, parseByteAArray);
  register(1005, parseIntegerArray); // _int2
  register(1007, parseIntegerArray); // _int4
  register(1028, parseIntegerArray); // oid[]
  register(1016, parseBigIntegerArray); // _int8
  register(1017, parsePointArray); // point[]
  register(1021, parseFloatArray); // _float4
  register(1022, parseFloatArray); // _float8
  register(1231, parseFloatArray); // _numeric
  register(1014, parseStringArray); //char
  register(1015, parseStringArray); //varchar
  register(1008, parseStringArray);
  register(1009, parseStringArray);
  register(1040, parseStringArray); // macaddr[]
  register(1041, parseStringArray); // inet[]
  register(1115, parseDateArray); // timestamp without time zone[]
  register(1182, parseDateArray); // _date
  register(1185, parseDateArray); // timestamp with time zone[]
  register(1186, parseInterval);
  register(1187, parseIntervalArray);
  register(17, parseByteA);
  register(114, JSON.parse.bind(JSON)); // json
  register(3802, JSON.parse.bind(JSON)); // jsonb
  register(199, parseJsonArray); // json[]
  register(3807, parseJsonArray); // jsonb[]
  register(3907, parseStringArray); // numrange[]
  register(2951, parseStringArray); // uuid[]
  register(791, parseStringArray); // money[]
  register(1183, parseStringArray); // time[]
  register(1270, parseStringArray); // timetz[]
};

module.exports = {
  init: init
};


/***/ }),

/***/ 5042:
/***/ ((module, __unused_webpack_exports, __nccwpck_require__) => {

const EventEmitter = (__nccwpck_require__(4434).EventEmitter)
const utils = __nccwpck_require__(9652)
const nodeUtils = __nccwpck_require__(9023)
const sasl = __nccwpck_require__(948)
const TypeOverrides = __nccwpck_require__(365)

const ConnectionParameters = __nccwpck_require__(646)
const Query = __nccwpck_require__(4473)
const defaults = __nccwpck_require__(8995)
const Connection = __nccwpck_require__(9809)
const crypto = __nccwpck_require__(4150)

const activeQueryDeprecationNotice = nodeUtils.deprecate(
  () => {},
  'Client.activeQuery is deprecated and will be removed in pg@9.0'
)

const queryQueueDeprecationNotice = nodeUtils.deprecate(
  () => {},
  'Client.queryQueue is deprecated and will be removed in pg@9.0.'
)

const pgPassDeprecationNotice = nodeUtils.deprecate(
  () => {},
  'pgpass support is deprecated and will be removed in pg@9.0. ' +
    'You can provide an async function as the password property to the Client/Pool constructor that returns a password instead. Within this function you can call the pgpass module in your own code.'
)

const byoPromiseDeprecationNotice = nodeUtils.deprecate(
  () => {},
  'Passing a custom Promise implementation to the Client/Pool constructor is deprecated and will be removed in pg@9.0.'
)

const queryQueueLengthDeprecationNotice = nodeUtils.deprecate(
  () => {},
  'Calling client.query() when the client is already executing a query is deprecated and will be removed in pg@9.0. Use async/await or an external async flow control mechanism instead.'
)

function coerceNumberOrDefault(value, defaultValue) {
  if (typeof value === 'number') {
    return Number.isFinite(value) ? value : defaultValue
  }
  if (typeof value === 'string' && value.trim() !== '') {
    const n = Number(value)
    return Number.isFinite(n) ? n : defaultValue
  }
  return defaultValue
}

class Client extends EventEmitter {
  constructor(config) {
    super()

    this.connectionParameters = new ConnectionParameters(config)
    this.user = this.connectionParameters.user
    this.database = this.connectionParameters.database
    this.port = this.connectionParameters.port
    this.host = this.connectionParameters.host

    // "hiding" the password so it doesn't show up in stack traces
    // or if the client is console.logged
    Object.defineProperty(this, 'password', {
      configurable: true,
      enumerable: false,
      writable: true,
      value: this.connectionParameters.password,
    })

    this.replication = this.connectionParameters.replication

    const c = config || {}

    if (c.Promise) {
      byoPromiseDeprecationNotice()
    }
    this._Promise = c.Promise || global.Promise
    this._types = new TypeOverrides(c.types)
    this._ending = false
    this._ended = false
    this._connecting = false
    this._connected = false
    this._connectionError = false
    this._queryable = true
    this._activeQuery = null
    this._txStatus = null

    this.enableChannelBinding = Boolean(c.enableChannelBinding) // set true to use SCRAM-SHA-256-PLUS when offered
    this.scramMaxIterations = coerceNumberOrDefault(c.scramMaxIterations, sasl.DEFAULT_MAX_SCRAM_ITERATIONS)
    this.connection =
      c.connection ||
      new Connection({
        stream: c.stream,
        ssl: this.connectionParameters.ssl,
        sslNegotiation: this.connectionParameters.sslnegotiation,
        keepAlive: c.keepAlive || false,
        keepAliveInitialDelayMillis: c.keepAliveInitialDelayMillis || 0,
        encoding: this.connectionParameters.client_encoding || 'utf8',
      })
    this._queryQueue = []
    this._sentQueryQueue = []
    this.pipeline = Boolean(c.pipeline)
    this.binary = c.binary || defaults.binary
    this.processID = null
    this.secretKey = null
    this.ssl = this.connectionParameters.ssl || false
    this.sslNegotiation = this.connectionParameters.sslnegotiation || 'postgres'
    // As with Password, make SSL->Key (the private key) non-enumerable.
    // It won't show up in stack traces
    // or if the client is console.logged
    if (this.ssl && this.ssl.key) {
      Object.defineProperty(this.ssl, 'key', {
        enumerable: false,
      })
    }

    this._connectionTimeoutMillis = c.connectionTimeoutMillis || 0
  }

  get activeQuery() {
    activeQueryDeprecationNotice()
    return this._activeQuery
  }

  set activeQuery(val) {
    activeQueryDeprecationNotice()
    this._activeQuery = val
  }

  _getActiveQuery() {
    return this._activeQuery
  }

  _errorAllQueries(err) {
    const enqueueError = (query) => {
      process.nextTick(() => {
        query.handleError(err, this.connection)
      })
    }

    const activeQuery = this._getActiveQuery()
    if (activeQuery) {
      enqueueError(activeQuery)
      this._activeQuery = null
    }

    this._sentQueryQueue.forEach(enqueueError)
    this._sentQueryQueue.length = 0

    this._queryQueue.forEach(enqueueError)
    this._queryQueue.length = 0
  }

  _connect(callback) {
    const self = this
    const con = this.connection
    this._connectionCallback = callback

    if (this._connecting || this._connected) {
      const err = new Error('Client has already been connected. You cannot reuse a client.')
      process.nextTick(() => {
        callback(err)
      })
      return
    }
    this._connecting = true

    if (this._connectionTimeoutMillis > 0) {
      this.connectionTimeoutHandle = setTimeout(() => {
        con._ending = true
        con.stream.destroy(new Error('timeout expired'))
      }, this._connectionTimeoutMillis)

      if (this.connectionTimeoutHandle.unref) {
        this.connectionTimeoutHandle.unref()
      }
    }

    if (this.host && this.host.indexOf('/') === 0) {
      con.connect(this.host + '/.s.PGSQL.' + this.port)
    } else {
      con.connect(this.port, this.host)
    }

    // once connection is established send startup message
    con.on('connect', function () {
      if (self.ssl) {
        // With direct SSL negotiation the connection upgrades to TLS without an
        // SSLRequest packet, so the startup message is sent after 'sslconnect'.
        if (self.sslNegotiation !== 'direct') {
          con.requestSsl()
        }
      } else {
        con.startup(self.getStartupConf())
      }
    })

    con.on('sslconnect', function () {
      con.startup(self.getStartupConf())
    })

    this._attachListeners(con)

    con.once('end', () => {
      const error = this._ending ? new Error('Connection terminated') : new Error('Connection terminated unexpectedly')

      clearTimeout(this.connectionTimeoutHandle)
      this._errorAllQueries(error)
      this._ended = true

      if (!this._ending) {
        // if the connection is ended without us calling .end()
        // on this client then we have an unexpected disconnection
        // treat this as an error unless we've already emitted an error
        // during connection.
        if (this._connecting && !this._connectionError) {
          if (this._connectionCallback) {
            this._connectionCallback(error)
          } else {
            this._handleErrorEvent(error)
          }
        } else if (!this._connectionError) {
          this._handleErrorEvent(error)
        }
      }

      process.nextTick(() => {
        this.emit('end')
      })
    })
  }

  connect(callback) {
    if (callback) {
      this._connect(callback)
      return
    }

    return new this._Promise((resolve, reject) => {
      this._connect((error) => {
        if (error) {
          reject(error)
        } else {
          resolve(this)
        }
      })
    })
  }

  _attachListeners(con) {
    // password request handling
    con.on('authenticationCleartextPassword', this._handleAuthCleartextPassword.bind(this))
    // password request handling
    con.on('authenticationMD5Password', this._handleAuthMD5Password.bind(this))
    // password request handling (SASL)
    con.on('authenticationSASL', this._handleAuthSASL.bind(this))
    con.on('authenticationSASLContinue', this._handleAuthSASLContinue.bind(this))
    con.on('authenticationSASLFinal', this._handleAuthSASLFinal.bind(this))
    con.on('backendKeyData', this._handleBackendKeyData.bind(this))
    con.on('error', this._handleErrorEvent.bind(this))
    con.on('errorMessage', this._handleErrorMessage.bind(this))
    con.on('readyForQuery', this._handleReadyForQuery.bind(this))
    con.on('notice', this._handleNotice.bind(this))
    con.on('rowDescription', this._handleRowDescription.bind(this))
    con.on('dataRow', this._handleDataRow.bind(this))
    con.on('portalSuspended', this._handlePortalSuspended.bind(this))
    con.on('emptyQuery', this._handleEmptyQuery.bind(this))
    con.on('commandComplete', this._handleCommandComplete.bind(this))
    con.on('parseComplete', this._handleParseComplete.bind(this))
    con.on('copyInResponse', this._handleCopyInResponse.bind(this))
    con.on('copyData', this._handleCopyData.bind(this))
    con.on('notification', this._handleNotification.bind(this))
  }

  _getPassword(cb) {
    const con = this.connection
    if (typeof this.password === 'function') {
      this._Promise
        .resolve()
        .then(() => this.password(this.connectionParameters))
        .then((pass) => {
          if (pass !== undefined) {
            if (typeof pass !== 'string') {
              con.emit('error', new TypeError('Password must be a string'))
              return
            }
            this.connectionParameters.password = this.password = pass
          } else {
            this.connectionParameters.password = this.password = null
          }
          cb()
        })
        .catch((err) => {
          con.emit('error', err)
        })
    } else if (this.password !== null) {
      cb()
    } else {
      try {
        const pgPass = __nccwpck_require__(3272)
        pgPass(this.connectionParameters, (pass) => {
          if (undefined !== pass) {
            pgPassDeprecationNotice()
            this.connectionParameters.password = this.password = pass
          }
          cb()
        })
      } catch (e) {
        this.emit('error', e)
      }
    }
  }

  _handleAuthCleartextPassword(msg) {
    this._getPassword(() => {
      this.connection.password(this.password)
    })
  }

  _handleAuthMD5Password(msg) {
    this._getPassword(async () => {
      try {
        const hashedPassword = await crypto.postgresMd5PasswordHash(this.user, this.password, msg.salt)
        this.connection.password(hashedPassword)
      } catch (e) {
        this.emit('error', e)
      }
    })
  }

  _handleAuthSASL(msg) {
    this._getPassword(() => {
      try {
        this.saslSession = sasl.startSession(
          msg.mechanisms,
          this.enableChannelBinding && this.connection.stream,
          this.scramMaxIterations
        )
        this.connection.sendSASLInitialResponseMessage(this.saslSession.mechanism, this.saslSession.response)
      } catch (err) {
        this.connection.emit('error', err)
      }
    })
  }

  async _handleAuthSASLContinue(msg) {
    try {
      await sasl.continueSession(
        this.saslSession,
        this.password,
        msg.data,
        this.enableChannelBinding && this.connection.stream
      )
      this.connection.sendSCRAMClientFinalMessage(this.saslSession.response)
    } catch (err) {
      this.connection.emit('error', err)
    }
  }

  _handleAuthSASLFinal(msg) {
    try {
      sasl.finalizeSession(this.saslSession, msg.data)
      this.saslSession = null
    } catch (err) {
      this.connection.emit('error', err)
    }
  }

  _handleBackendKeyData(msg) {
    this.processID = msg.processID
    this.secretKey = msg.secretKey
  }

  _handleReadyForQuery(msg) {
    if (this._connecting) {
      this._connecting = false
      this._connected = true
      clearTimeout(this.connectionTimeoutHandle)

      // process possible callback argument to Client#connect
      if (this._connectionCallback) {
        this._connectionCallback(null, this)
        // remove callback for proper error handling
        // after the connect event
        this._connectionCallback = null
      }
      this.emit('connect')
    }
    const activeQuery = this._getActiveQuery()
    this._activeQuery = null
    this._txStatus = msg?.status ?? null
    this.readyForQuery = true
    if (activeQuery) {
      activeQuery.handleReadyForQuery(this.connection)
    }
    this._pulseQueryQueue()
  }

  // if we receive an error event or error message
  // during the connection process we handle it here
  _handleErrorWhileConnecting(err) {
    if (this._connectionError) {
      // TODO(bmc): this is swallowing errors - we shouldn't do this
      return
    }
    this._connectionError = true
    clearTimeout(this.connectionTimeoutHandle)
    if (this._connectionCallback) {
      return this._connectionCallback(err)
    }
    this.emit('error', err)
  }

  // if we're connected and we receive an error event from the connection
  // this means the socket is dead - do a hard abort of all queries and emit
  // the socket error on the client as well
  _handleErrorEvent(err) {
    if (this._connecting) {
      return this._handleErrorWhileConnecting(err)
    }
    this._queryable = false
    this._errorAllQueries(err)
    this.emit('error', err)
  }

  // handle error messages from the postgres backend
  _handleErrorMessage(msg) {
    if (this._connecting) {
      return this._handleErrorWhileConnecting(msg)
    }
    const activeQuery = this._getActiveQuery()

    if (!activeQuery) {
      this._handleErrorEvent(msg)
      return
    }

    this._activeQuery = null
    if (activeQuery.name) {
      delete this.connection.submittedNamedStatements[activeQuery.name]
    }
    activeQuery.handleError(msg, this.connection)
  }

  _handleRowDescription(msg) {
    const activeQuery = this._getActiveQuery()
    if (activeQuery == null) {
      const error = new Error('Received unexpected rowDescription message from backend.')
      this._handleErrorEvent(error)
      return
    }
    // delegate rowDescription to active query
    activeQuery.handleRowDescription(msg)
  }

  _handleDataRow(msg) {
    const activeQuery = this._getActiveQuery()
    if (activeQuery == null) {
      const error = new Error('Received unexpected dataRow message from backend.')
      this._handleErrorEvent(error)
      return
    }
    // delegate dataRow to active query
    activeQuery.handleDataRow(msg)
  }

  _handlePortalSuspended(msg) {
    const activeQuery = this._getActiveQuery()
    if (activeQuery == null) {
      const error = new Error('Received unexpected portalSuspended message from backend.')
      this._handleErrorEvent(error)
      return
    }
    // delegate portalSuspended to active query
    activeQuery.handlePortalSuspended(this.connection)
  }

  _handleEmptyQuery(msg) {
    const activeQuery = this._getActiveQuery()
    if (activeQuery == null) {
      const error = new Error('Received unexpected emptyQuery message from backend.')
      this._handleErrorEvent(error)
      return
    }
    // delegate emptyQuery to active query
    activeQuery.handleEmptyQuery(this.connection)
  }

  _handleCommandComplete(msg) {
    const activeQuery = this._getActiveQuery()
    if (activeQuery == null) {
      const error = new Error('Received unexpected commandComplete message from backend.')
      this._handleErrorEvent(error)
      return
    }
    // delegate commandComplete to active query
    activeQuery.handleCommandComplete(msg, this.connection)
  }

  _handleParseComplete() {
    const activeQuery = this._getActiveQuery()
    if (activeQuery == null) {
      const error = new Error('Received unexpected parseComplete message from backend.')
      this._handleErrorEvent(error)
      return
    }
    // if a prepared statement has a name and properly parses
    // we track that its already been executed so we don't parse
    // it again on the same client
    if (activeQuery.name) {
      this.connection.parsedStatements[activeQuery.name] = activeQuery.text
      delete this.connection.submittedNamedStatements[activeQuery.name]
    }
  }

  _handleCopyInResponse(msg) {
    const activeQuery = this._getActiveQuery()
    if (activeQuery == null) {
      const error = new Error('Received unexpected copyInResponse message from backend.')
      this._handleErrorEvent(error)
      return
    }
    activeQuery.handleCopyInResponse(this.connection)
  }

  _handleCopyData(msg) {
    const activeQuery = this._getActiveQuery()
    if (activeQuery == null) {
      const error = new Error('Received unexpected copyData message from backend.')
      this._handleErrorEvent(error)
      return
    }
    activeQuery.handleCopyData(msg, this.connection)
  }

  _handleNotification(msg) {
    this.emit('notification', msg)
  }

  _handleNotice(msg) {
    this.emit('notice', msg)
  }

  getStartupConf() {
    const params = this.connectionParameters

    const data = {
      user: params.user,
      database: params.database,
    }

    const appName = params.application_name || params.fallback_application_name
    if (appName) {
      data.application_name = appName
    }
    if (params.replication) {
      data.replication = '' + params.replication
    }
    if (params.statement_timeout) {
      data.statement_timeout = String(parseInt(params.statement_timeout, 10))
    }
    if (params.lock_timeout) {
      data.lock_timeout = String(parseInt(params.lock_timeout, 10))
    }
    if (params.idle_in_transaction_session_timeout) {
      data.idle_in_transaction_session_timeout = String(parseInt(params.idle_in_transaction_session_timeout, 10))
    }
    if (params.options) {
      data.options = params.options
    }

    return data
  }

  cancel(client, query) {
    if (client.activeQuery === query) {
      const con = this.connection

      if (this.host && this.host.indexOf('/') === 0) {
        con.connect(this.host + '/.s.PGSQL.' + this.port)
      } else {
        con.connect(this.port, this.host)
      }

      // once connection is established send cancel message
      con.on('connect', function () {
        con.cancel(client.processID, client.secretKey)
      })
    } else if (client._queryQueue.indexOf(query) !== -1) {
      client._queryQueue.splice(client._queryQueue.indexOf(query), 1)
    } else if (client._sentQueryQueue.indexOf(query) !== -1) {
      // Query already sent on wire — can't remove it without corrupting the
      // pipeline. No-op the callback so the result is silently discarded.
      query.callback = () => {}
    }
  }

  setTypeParser(oid, format, parseFn) {
    return this._types.setTypeParser(oid, format, parseFn)
  }

  getTypeParser(oid, format) {
    return this._types.getTypeParser(oid, format)
  }

  // escapeIdentifier and escapeLiteral moved to utility functions & exported
  // on PG
  // re-exported here for backwards compatibility
  escapeIdentifier(str) {
    return utils.escapeIdentifier(str)
  }

  escapeLiteral(str) {
    return utils.escapeLiteral(str)
  }

  _pulseQueryQueue() {
    if (this.pipeline) {
      this._pulsePipelinedQueryQueue()
      return
    }
    if (this.readyForQuery === true) {
      this._activeQuery = this._queryQueue.shift()
      const activeQuery = this._getActiveQuery()
      if (activeQuery) {
        this.readyForQuery = false
        this.hasExecuted = true

        const queryError = activeQuery.submit(this.connection)
        if (queryError) {
          process.nextTick(() => {
            activeQuery.handleError(queryError, this.connection)
            this.readyForQuery = true
            this._pulseQueryQueue()
          })
        }
      } else if (this.hasExecuted) {
        this._activeQuery = null
        this.emit('drain')
      }
    }
  }

  _pulsePipelinedQueryQueue() {
    if (!this._connected || !this._queryable) {
      return
    }
    while (this._queryQueue.length > 0) {
      const query = this._queryQueue.shift()
      this.hasExecuted = true
      const queryError = query.submit(this.connection)
      if (queryError) {
        process.nextTick(() => {
          query.handleError(queryError, this.connection)
        })
        continue
      }
      this._sentQueryQueue.push(query)
    }
    if (this.readyForQuery && !this._activeQuery && this._sentQueryQueue.length > 0) {
      this._activeQuery = this._sentQueryQueue.shift()
      this.readyForQuery = false
    }
    if (!this._activeQuery && this._sentQueryQueue.length === 0 && this._queryQueue.length === 0 && this.hasExecuted) {
      this.emit('drain')
    }
  }

  query(config, values, callback) {
    // can take in strings, config object or query object
    let query
    let result

    if (config == null) {
      throw new TypeError('Client was passed a null or undefined query')
    }

    if (typeof config.submit === 'function') {
      result = query = config
      if (!query.callback) {
        if (typeof values === 'function') {
          query.callback = values
        } else if (callback) {
          query.callback = callback
        }
      }
    } else {
      query = new Query(config, values, callback)
      if (!query.callback) {
        result = new this._Promise((resolve, reject) => {
          query.callback = (err, res) => (err ? reject(err) : resolve(res))
        }).catch((err) => {
          // replace the stack trace that leads to `TCP.onStreamRead` with one that leads back to the
          // application that created the query
          Error.captureStackTrace(err)
          throw err
        })
      } else if (typeof query.callback !== 'function') {
        throw new TypeError('callback is not a function')
      }
    }

    const readTimeout = config.query_timeout || this.connectionParameters.query_timeout
    if (readTimeout) {
      const queryCallback = query.callback || (() => {})

      const readTimeoutTimer = setTimeout(() => {
        const error = new Error('Query read timeout')

        process.nextTick(() => {
          query.handleError(error, this.connection)
        })

        queryCallback(error)

        // we already returned an error,
        // just do nothing if query completes
        query.callback = () => {}

        // Remove from queue (only safe if not yet sent)
        const index = this._queryQueue.indexOf(query)
        if (index > -1) {
          this._queryQueue.splice(index, 1)
        } else if (this.pipeline) {
          // Query already sent — the pipeline is blocked until it completes.
          // Destroy the connection to unblock all remaining pipelined queries.
          this.connection.stream.destroy()
          return
        }

        this._pulseQueryQueue()
      }, readTimeout)

      query.callback = (err, res) => {
        clearTimeout(readTimeoutTimer)
        queryCallback(err, res)
      }
    }

    if (this.binary && !query.binary) {
      query.binary = true
    }

    if (query._result && !query._result._types) {
      query._result._types = this._types
    }

    // A query that keeps a portal open across round trips cannot share a pipelined connection: the
    // queries written behind it are answered out of its portal, so rows land on the wrong query and
    // the reads that follow fail with 'portal does not exist'. Refuse it instead of corrupting.
    if (this.pipeline) {
      const portalQuery =
        typeof config.submit === 'function' && !(query instanceof Query)
          ? 'Custom query classes such as pg-cursor and pg-query-stream are'
          : query.rows
          ? 'The `rows` option is'
          : null
      if (portalQuery) {
        process.nextTick(() => {
          query.handleError(new Error(`${portalQuery} not supported in pipeline mode`), this.connection)
        })
        return result
      }
    }

    if (!this._queryable) {
      process.nextTick(() => {
        query.handleError(new Error('Client has encountered a connection error and is not queryable'), this.connection)
      })
      return result
    }

    if (this._ending) {
      process.nextTick(() => {
        query.handleError(new Error('Client was closed and is not queryable'), this.connection)
      })
      return result
    }

    if (this._queryQueue.length > 0 && !this.pipeline) {
      queryQueueLengthDeprecationNotice()
    }
    this._queryQueue.push(query)
    this._pulseQueryQueue()
    return result
  }

  ref() {
    this.connection.ref()
  }

  unref() {
    this.connection.unref()
  }

  getTransactionStatus() {
    return this._txStatus
  }

  end(cb) {
    this._ending = true

    // if we have never connected, then end is a noop, callback immediately
    if (!this.connection._connecting || this._ended) {
      if (cb) {
        cb()
        return
      } else {
        return this._Promise.resolve()
      }
    }

    if (!this._queryable) {
      // socket is dead — force close
      this.connection.stream.destroy()
    } else if (
      this.pipeline &&
      (this._getActiveQuery() || this._sentQueryQueue.length > 0 || this._queryQueue.length > 0)
    ) {
      // pipelined queries are already on the wire (or queued to send) and will
      // complete normally; wait for drain then do a graceful goodbye
      this.once('drain', () => this.connection.end())
    } else if (this._getActiveQuery()) {
      // non-pipeline: a hung query could block end forever — force disconnect
      this.connection.stream.destroy()
    } else {
      this.connection.end()
    }

    if (cb) {
      this.connection.once('end', cb)
    } else {
      return new this._Promise((resolve) => {
        this.connection.once('end', resolve)
      })
    }
  }
  get queryQueue() {
    queryQueueDeprecationNotice()
    return this._queryQueue
  }
}

// expose a Query constructor
Client.Query = Query

module.exports = Client


/***/ }),

/***/ 646:
/***/ ((module, __unused_webpack_exports, __nccwpck_require__) => {



const dns = __nccwpck_require__(2250)

const defaults = __nccwpck_require__(8995)

const parse = (__nccwpck_require__(6122).parse) // parses a connection string

const val = function (key, config, envVar) {
  if (config[key]) {
    return config[key]
  }

  if (envVar === undefined) {
    envVar = process.env['PG' + key.toUpperCase()]
  } else if (envVar === false) {
    // do nothing ... use false
  } else {
    envVar = process.env[envVar]
  }

  return envVar || defaults[key]
}

const readSSLConfigFromEnvironment = function () {
  switch (process.env.PGSSLMODE) {
    case 'disable':
      return false
    case 'prefer':
    case 'require':
    case 'verify-ca':
    case 'verify-full':
      return true
    case 'no-verify':
      return { rejectUnauthorized: false }
  }
  return defaults.ssl
}

// Convert arg to a string, surround in single quotes, and escape single quotes and backslashes
const quoteParamValue = function (value) {
  return "'" + ('' + value).replace(/\\/g, '\\\\').replace(/'/g, "\\'") + "'"
}

const add = function (params, config, paramName) {
  const value = config[paramName]
  if (value !== undefined && value !== null) {
    params.push(paramName + '=' + quoteParamValue(value))
  }
}

class ConnectionParameters {
  constructor(config) {
    // if a string is passed, it is a raw connection string so we parse it into a config
    config = typeof config === 'string' ? parse(config) : config || {}

    // if the config has a connectionString defined, parse IT into the config we use
    // this will override other default values with what is stored in connectionString
    if (config.connectionString) {
      config = Object.assign({}, config, parse(config.connectionString))
    }

    this.user = val('user', config)
    this.database = val('database', config)

    if (this.database === undefined) {
      this.database = this.user
    }

    this.port = parseInt(val('port', config), 10)
    this.host = val('host', config)

    // "hiding" the password so it doesn't show up in stack traces
    // or if the client is console.logged
    Object.defineProperty(this, 'password', {
      configurable: true,
      enumerable: false,
      writable: true,
      value: val('password', config),
    })

    this.binary = val('binary', config)
    this.options = val('options', config)

    this.ssl = typeof config.ssl === 'undefined' ? readSSLConfigFromEnvironment() : config.ssl

    if (typeof this.ssl === 'string') {
      if (this.ssl === 'true') {
        this.ssl = true
      }
    }
    // support passing in ssl=no-verify via connection string
    if (this.ssl === 'no-verify') {
      this.ssl = { rejectUnauthorized: false }
    }
    if (this.ssl && this.ssl.key) {
      Object.defineProperty(this.ssl, 'key', {
        enumerable: false,
      })
    }

    // How to negotiate SSL: 'postgres' (default, the traditional SSLRequest
    // handshake) or 'direct' (start the TLS handshake immediately on connect).
    this.sslnegotiation = val('sslnegotiation', config, 'PGSSLNEGOTIATION')
    if (this.sslnegotiation !== undefined && this.sslnegotiation !== 'postgres' && this.sslnegotiation !== 'direct') {
      throw new Error(
        `Invalid sslnegotiation value: "${this.sslnegotiation}". Valid values are "postgres" and "direct".`
      )
    }
    if (this.sslnegotiation === 'direct' && !this.ssl) {
      throw new Error('sslnegotiation=direct requires SSL to be enabled')
    }

    this.client_encoding = val('client_encoding', config)
    this.replication = val('replication', config)
    // a domain socket begins with '/'
    this.isDomainSocket = !(this.host || '').indexOf('/')

    this.application_name = val('application_name', config, 'PGAPPNAME')
    this.fallback_application_name = val('fallback_application_name', config, false)
    this.statement_timeout = val('statement_timeout', config, false)
    this.lock_timeout = val('lock_timeout', config, false)
    this.idle_in_transaction_session_timeout = val('idle_in_transaction_session_timeout', config, false)
    this.query_timeout = val('query_timeout', config, false)

    if (config.connectionTimeoutMillis === undefined) {
      this.connect_timeout = process.env.PGCONNECT_TIMEOUT || 0
    } else {
      this.connect_timeout = Math.floor(config.connectionTimeoutMillis / 1000)
    }

    if (config.keepAlive === false) {
      this.keepalives = 0
    } else if (config.keepAlive === true) {
      this.keepalives = 1
    }

    if (typeof config.keepAliveInitialDelayMillis === 'number') {
      this.keepalives_idle = Math.floor(config.keepAliveInitialDelayMillis / 1000)
    }
  }

  getLibpqConnectionString(cb) {
    const params = []
    add(params, this, 'user')
    add(params, this, 'password')
    add(params, this, 'port')
    add(params, this, 'application_name')
    add(params, this, 'fallback_application_name')
    add(params, this, 'connect_timeout')
    add(params, this, 'options')

    const ssl = typeof this.ssl === 'object' ? this.ssl : this.ssl ? { sslmode: this.ssl } : {}
    add(params, ssl, 'sslmode')
    add(params, ssl, 'sslca')
    add(params, ssl, 'sslkey')
    add(params, ssl, 'sslcert')
    add(params, ssl, 'sslrootcert')
    add(params, this, 'sslnegotiation')

    if (this.database) {
      params.push('dbname=' + quoteParamValue(this.database))
    }
    if (this.replication) {
      params.push('replication=' + quoteParamValue(this.replication))
    }
    if (this.host) {
      params.push('host=' + quoteParamValue(this.host))
    }
    if (this.isDomainSocket) {
      return cb(null, params.join(' '))
    }
    if (this.client_encoding) {
      params.push('client_encoding=' + quoteParamValue(this.client_encoding))
    }
    dns.lookup(this.host, function (err, address) {
      if (err) return cb(err, null)
      params.push('hostaddr=' + quoteParamValue(address))
      return cb(null, params.join(' '))
    })
  }
}

module.exports = ConnectionParameters


/***/ }),

/***/ 9809:
/***/ ((module, __unused_webpack_exports, __nccwpck_require__) => {



const EventEmitter = (__nccwpck_require__(4434).EventEmitter)

const { parse, serialize } = __nccwpck_require__(4233)
const stream = __nccwpck_require__(829)
const { getStream } = stream

const flushBuffer = serialize.flush()
const syncBuffer = serialize.sync()
const endBuffer = serialize.end()

// TODO(bmc) support binary mode at some point
class Connection extends EventEmitter {
  constructor(config) {
    super()
    config = config || {}

    this.stream = config.stream || getStream(config.ssl)
    if (typeof this.stream === 'function') {
      this.stream = this.stream(config)
    }

    this._keepAlive = config.keepAlive
    this._keepAliveInitialDelayMillis = config.keepAliveInitialDelayMillis
    this.parsedStatements = {}
    this.submittedNamedStatements = {}
    this.ssl = config.ssl || false
    this.sslNegotiation = config.sslNegotiation || 'postgres'
    this._ending = false
    this._emitMessage = false
    const self = this
    this.on('newListener', function (eventName) {
      if (eventName === 'message') {
        self._emitMessage = true
      }
    })
  }

  connect(port, host) {
    const self = this

    this._connecting = true
    this.stream.setNoDelay(true)
    this.stream.connect(port, host)

    this.stream.once('connect', function () {
      if (self._keepAlive) {
        self.stream.setKeepAlive(true, self._keepAliveInitialDelayMillis)
      }
      self.emit('connect')
    })

    const reportStreamError = function (error) {
      // errors about disconnections should be ignored during disconnect
      if (self._ending && (error.code === 'ECONNRESET' || error.code === 'EPIPE')) {
        return
      }
      self.emit('error', error)
    }
    this.stream.on('error', reportStreamError)

    this.stream.on('close', function () {
      self.emit('end')
    })

    if (!this.ssl) {
      return this.attachListeners(this.stream)
    }

    // With direct SSL negotiation the TLS handshake starts immediately on the
    // raw socket, skipping the SSLRequest packet and the server's 'S'/'N' reply.
    if (this.sslNegotiation === 'direct') {
      return this.stream.once('connect', function () {
        self.upgradeToSSL(host, reportStreamError)
      })
    }

    this.stream.once('data', function (buffer) {
      const responseCode = buffer.toString('utf8')
      switch (responseCode) {
        case 'S': // Server supports SSL connections, continue with a secure connection
          break
        case 'N': // Server does not support SSL connections
          self.stream.end()
          return self.emit('error', new Error('The server does not support SSL connections'))
        default:
          // Any other response byte, including 'E' (ErrorResponse) indicating a server error
          self.stream.end()
          return self.emit('error', new Error('There was an error establishing an SSL connection'))
      }
      self.upgradeToSSL(host, reportStreamError)
    })
  }

  upgradeToSSL(host, reportStreamError) {
    const self = this
    const options = {
      socket: self.stream,
      // tls.connect checks the server identity against `servername`, falling
      // back to `host` and then to 'localhost'. `servername` must stay unset
      // for IP addresses (see below), so `host` is needed to keep certificate
      // validation working when connecting to an IP address.
      host,
    }

    if (self.ssl !== true) {
      Object.assign(options, self.ssl)

      if ('key' in self.ssl) {
        options.key = self.ssl.key
      }
    }

    // Direct SSL negotiation requires ALPN so the server can confirm it is
    // speaking the PostgreSQL protocol over the TLS connection.
    if (self.sslNegotiation === 'direct') {
      options.ALPNProtocols = ['postgresql']
    }

    // SNI must not be set to an IP address (RFC 6066 section 3)
    const net = __nccwpck_require__(9278)
    if (net.isIP && net.isIP(host) === 0) {
      options.servername = host
    }
    try {
      self.stream = stream.getSecureStream(options)
    } catch (err) {
      return self.emit('error', err)
    }
    self.attachListeners(self.stream)
    self.stream.on('error', reportStreamError)

    self.emit('sslconnect')
  }

  attachListeners(stream) {
    parse(stream, (msg) => {
      const eventName = msg.name === 'error' ? 'errorMessage' : msg.name
      if (this._emitMessage) {
        this.emit('message', msg)
      }
      this.emit(eventName, msg)
    })
  }

  requestSsl() {
    this.stream.write(serialize.requestSsl())
  }

  startup(config) {
    this.stream.write(serialize.startup(config))
  }

  cancel(processID, secretKey) {
    this._send(serialize.cancel(processID, secretKey))
  }

  password(password) {
    this._send(serialize.password(password))
  }

  sendSASLInitialResponseMessage(mechanism, initialResponse) {
    this._send(serialize.sendSASLInitialResponseMessage(mechanism, initialResponse))
  }

  sendSCRAMClientFinalMessage(additionalData) {
    this._send(serialize.sendSCRAMClientFinalMessage(additionalData))
  }

  _send(buffer) {
    if (!this.stream.writable) {
      return false
    }
    return this.stream.write(buffer)
  }

  query(text) {
    this._send(serialize.query(text))
  }

  // send parse message
  parse(query) {
    this._send(serialize.parse(query))
  }

  // send bind message
  bind(config) {
    this._send(serialize.bind(config))
  }

  // send execute message
  execute(config) {
    this._send(serialize.execute(config))
  }

  flush() {
    if (this.stream.writable) {
      this.stream.write(flushBuffer)
    }
  }

  sync() {
    // Sync is the extended-query protocol barrier, not a disconnect.
    // Only end()/Terminate (and connect-timeout teardown) should set _ending.
    this._send(syncBuffer)
  }

  ref() {
    this.stream.ref()
  }

  unref() {
    this.stream.unref()
  }

  end() {
    // 0x58 = 'X'
    this._ending = true
    if (!this._connecting || !this.stream.writable) {
      this.stream.end()
      return
    }
    return this.stream.write(endBuffer, () => {
      this.stream.end()
    })
  }

  close(msg) {
    this._send(serialize.close(msg))
  }

  describe(msg) {
    this._send(serialize.describe(msg))
  }

  sendCopyFromChunk(chunk) {
    this._send(serialize.copyData(chunk))
  }

  endCopyFrom() {
    this._send(serialize.copyDone())
  }

  sendCopyFail(msg) {
    this._send(serialize.copyFail(msg))
  }
}

module.exports = Connection


/***/ }),

/***/ 9765:
/***/ ((module) => {

function x509Error(msg, cert) {
  return new Error('SASL channel binding: ' + msg + ' when parsing public certificate ' + cert.toString('base64'))
}

function readASN1Length(data, index) {
  let length = data[index++]
  if (length < 0x80) return { length, index }

  const lengthBytes = length & 0x7f
  if (lengthBytes > 4) throw x509Error('bad length', data)

  length = 0
  for (let i = 0; i < lengthBytes; i++) {
    length = (length << 8) | data[index++]
  }

  return { length, index }
}

function readASN1OID(data, index) {
  if (data[index++] !== 0x6) throw x509Error('non-OID data', data) // 6 = OID

  const { length: OIDLength, index: indexAfterOIDLength } = readASN1Length(data, index)
  index = indexAfterOIDLength
  const lastIndex = index + OIDLength

  const byte1 = data[index++]
  let oid = ((byte1 / 40) >> 0) + '.' + (byte1 % 40)

  while (index < lastIndex) {
    // loop over numbers in OID
    let value = 0
    while (index < lastIndex) {
      // loop over bytes in number
      const nextByte = data[index++]
      value = (value << 7) | (nextByte & 0x7f)
      if (nextByte < 0x80) break
    }
    oid += '.' + value
  }

  return { oid, index }
}

function expectASN1Seq(data, index) {
  if (data[index++] !== 0x30) throw x509Error('non-sequence data', data) // 30 = Sequence
  return readASN1Length(data, index)
}

function signatureAlgorithmHashFromCertificate(data, index) {
  // read this thread: https://www.postgresql.org/message-id/17760-b6c61e752ec07060%40postgresql.org
  if (index === undefined) index = 0
  index = expectASN1Seq(data, index).index
  const { length: certInfoLength, index: indexAfterCertInfoLength } = expectASN1Seq(data, index)
  index = indexAfterCertInfoLength + certInfoLength // skip over certificate info
  index = expectASN1Seq(data, index).index // skip over signature length field
  const { oid, index: indexAfterOID } = readASN1OID(data, index)
  switch (oid) {
    // RSA
    case '1.2.840.113549.1.1.4':
      return 'MD5'
    case '1.2.840.113549.1.1.5':
      return 'SHA-1'
    case '1.2.840.113549.1.1.11':
      return 'SHA-256'
    case '1.2.840.113549.1.1.12':
      return 'SHA-384'
    case '1.2.840.113549.1.1.13':
      return 'SHA-512'
    case '1.2.840.113549.1.1.14':
      return 'SHA-224'
    case '1.2.840.113549.1.1.15':
      return 'SHA512-224'
    case '1.2.840.113549.1.1.16':
      return 'SHA512-256'
    // ECDSA
    case '1.2.840.10045.4.1':
      return 'SHA-1'
    case '1.2.840.10045.4.3.1':
      return 'SHA-224'
    case '1.2.840.10045.4.3.2':
      return 'SHA-256'
    case '1.2.840.10045.4.3.3':
      return 'SHA-384'
    case '1.2.840.10045.4.3.4':
      return 'SHA-512'
    // RSASSA-PSS: hash is indicated separately
    case '1.2.840.113549.1.1.10': {
      index = indexAfterOID
      index = expectASN1Seq(data, index).index
      if (data[index++] !== 0xa0) throw x509Error('non-tag data', data) // a0 = constructed tag 0
      index = readASN1Length(data, index).index // skip over tag length field
      index = expectASN1Seq(data, index).index // skip over sequence length field
      const { oid: hashOID } = readASN1OID(data, index)
      switch (hashOID) {
        // standalone hash OIDs
        case '1.2.840.113549.2.5':
          return 'MD5'
        case '1.3.14.3.2.26':
          return 'SHA-1'
        case '2.16.840.1.101.3.4.2.1':
          return 'SHA-256'
        case '2.16.840.1.101.3.4.2.2':
          return 'SHA-384'
        case '2.16.840.1.101.3.4.2.3':
          return 'SHA-512'
      }
      throw x509Error('unknown hash OID ' + hashOID, data)
    }
    // Ed25519 -- see https://github.com/openssl/openssl/issues/15477
    case '1.3.101.110':
    case '1.3.101.112': // ph
      return 'SHA-512'
    // Ed448 -- still not in pg 17.2 (if supported, digest would be SHAKE256 x 64 bytes)
    case '1.3.101.111':
    case '1.3.101.113': // ph
      throw x509Error('Ed448 certificate channel binding is not currently supported by Postgres')
  }
  throw x509Error('unknown OID ' + oid, data)
}

module.exports = { signatureAlgorithmHashFromCertificate }


/***/ }),

/***/ 948:
/***/ ((module, __unused_webpack_exports, __nccwpck_require__) => {


const crypto = __nccwpck_require__(4150)
const { signatureAlgorithmHashFromCertificate } = __nccwpck_require__(9765)

// SASLprep (RFC 4013) — minimal in-tree implementation.
//
// Per RFC 5802 §2.2, the SCRAM-SHA-256 client must normalize the password via
// SASLprep before feeding it into PBKDF2. PostgreSQL's server applies the same
// SASLprep when computing the stored verifier, and libpq does the same client
// side, so passwords whose NFKC form differs from the raw form
// would otherwise authenticate against psql/libpq but fail against pg with `28P01`.
//
// We deliberately implement only the three steps that change the byte content:
//   1. RFC 3454 Table C.1.2 (non-ASCII space) → U+0020 SPACE.
//   2. RFC 3454 Table B.1 (commonly mapped to nothing) → empty.
//   3. NFKC normalization.
// We skip the prohibition (RFC 4013 §2.3) and bidi (RFC 3454 §6) checks.
// libpq is forgiving on those paths and Postgres's own SASLprep matches that
// leniency for legacy roles, so omitting the rejection logic keeps existing
// roles working without adding complexity.
function saslprep(password) {
  // RFC 3454 Table C.1.2 — non-ASCII space characters, mapped to U+0020.
  const nonAsciiSpace = /[\u00A0\u1680\u2000-\u200B\u202F\u205F\u3000]/g
  // RFC 3454 Table B.1 — "commonly mapped to nothing". The set intentionally
  // contains zero-width joiners and variation selectors — the very characters
  // ESLint's no-misleading-character-class warns about — because they combine
  // with their neighbors and the RFC strips them for that reason.
  // eslint-disable-next-line no-misleading-character-class
  const mappedToNothing = /[\u00AD\u034F\u1806\u180B\u180C\u180D\u200C\u200D\u2060\uFE00-\uFE0F\uFEFF]/g
  return password.replace(nonAsciiSpace, ' ').replace(mappedToNothing, '').normalize('NFKC')
}

const DEFAULT_MAX_SCRAM_ITERATIONS = 100000

function startSession(mechanisms, stream, scramMaxIterations = DEFAULT_MAX_SCRAM_ITERATIONS) {
  const candidates = ['SCRAM-SHA-256']
  if (stream) candidates.unshift('SCRAM-SHA-256-PLUS') // higher-priority, so placed first

  const mechanism = candidates.find((candidate) => mechanisms.includes(candidate))

  if (!mechanism) {
    throw new Error('SASL: Only mechanism(s) ' + candidates.join(' and ') + ' are supported')
  }

  if (mechanism === 'SCRAM-SHA-256-PLUS' && typeof stream.getPeerCertificate !== 'function') {
    // this should never happen if we are really talking to a Postgres server
    throw new Error('SASL: Mechanism SCRAM-SHA-256-PLUS requires a certificate')
  }

  const clientNonce = crypto.randomBytes(18).toString('base64')
  const gs2Header = mechanism === 'SCRAM-SHA-256-PLUS' ? 'p=tls-server-end-point' : stream ? 'y' : 'n'

  return {
    mechanism,
    clientNonce,
    response: gs2Header + ',,n=*,r=' + clientNonce,
    message: 'SASLInitialResponse',
    scramMaxIterations,
  }
}

async function continueSession(session, password, serverData, stream) {
  if (session.message !== 'SASLInitialResponse') {
    throw new Error('SASL: Last message was not SASLInitialResponse')
  }
  if (typeof password !== 'string') {
    throw new Error('SASL: SCRAM-SERVER-FIRST-MESSAGE: client password must be a string')
  }
  if (password === '') {
    throw new Error('SASL: SCRAM-SERVER-FIRST-MESSAGE: client password must be a non-empty string')
  }
  if (typeof serverData !== 'string') {
    throw new Error('SASL: SCRAM-SERVER-FIRST-MESSAGE: serverData must be a string')
  }

  const sv = parseServerFirstMessage(serverData)

  if (!sv.nonce.startsWith(session.clientNonce)) {
    throw new Error('SASL: SCRAM-SERVER-FIRST-MESSAGE: server nonce does not start with client nonce')
  } else if (sv.nonce.length === session.clientNonce.length) {
    throw new Error('SASL: SCRAM-SERVER-FIRST-MESSAGE: server nonce is too short')
  }

  const scramMaxIterations =
    typeof session.scramMaxIterations === 'number' ? session.scramMaxIterations : DEFAULT_MAX_SCRAM_ITERATIONS
  // a value of 0 disables the iteration count check
  if (scramMaxIterations !== 0 && sv.iteration > scramMaxIterations) {
    throw new Error(
      'SASL: SCRAM-SERVER-FIRST-MESSAGE: iteration count ' +
        sv.iteration +
        ' exceeds scramMaxIterations of ' +
        scramMaxIterations
    )
  }

  const clientFirstMessageBare = 'n=*,r=' + session.clientNonce
  const serverFirstMessage = 'r=' + sv.nonce + ',s=' + sv.salt + ',i=' + sv.iteration

  // without channel binding:
  let channelBinding = stream ? 'eSws' : 'biws' // 'y,,' or 'n,,', base64-encoded

  // override if channel binding is in use:
  if (session.mechanism === 'SCRAM-SHA-256-PLUS') {
    const peerCert = stream.getPeerCertificate().raw
    let hashName = signatureAlgorithmHashFromCertificate(peerCert)
    if (hashName === 'MD5' || hashName === 'SHA-1') hashName = 'SHA-256'
    const certHash = await crypto.hashByName(hashName, peerCert)
    const bindingData = Buffer.concat([Buffer.from('p=tls-server-end-point,,'), Buffer.from(certHash)])
    channelBinding = bindingData.toString('base64')
  }

  const clientFinalMessageWithoutProof = 'c=' + channelBinding + ',r=' + sv.nonce
  const authMessage = clientFirstMessageBare + ',' + serverFirstMessage + ',' + clientFinalMessageWithoutProof

  const saltBytes = Buffer.from(sv.salt, 'base64')
  const saltedPassword = await crypto.deriveKey(saslprep(password), saltBytes, sv.iteration)
  const clientKey = await crypto.hmacSha256(saltedPassword, 'Client Key')
  const storedKey = await crypto.sha256(clientKey)
  const clientSignature = await crypto.hmacSha256(storedKey, authMessage)
  const clientProof = xorBuffers(Buffer.from(clientKey), Buffer.from(clientSignature)).toString('base64')
  const serverKey = await crypto.hmacSha256(saltedPassword, 'Server Key')
  const serverSignatureBytes = await crypto.hmacSha256(serverKey, authMessage)

  session.message = 'SASLResponse'
  session.serverSignature = Buffer.from(serverSignatureBytes).toString('base64')
  session.response = clientFinalMessageWithoutProof + ',p=' + clientProof
}

function finalizeSession(session, serverData) {
  if (session.message !== 'SASLResponse') {
    throw new Error('SASL: Last message was not SASLResponse')
  }
  if (typeof serverData !== 'string') {
    throw new Error('SASL: SCRAM-SERVER-FINAL-MESSAGE: serverData must be a string')
  }

  const { serverSignature } = parseServerFinalMessage(serverData)

  if (serverSignature !== session.serverSignature) {
    throw new Error('SASL: SCRAM-SERVER-FINAL-MESSAGE: server signature does not match')
  }
}

/**
 * printable       = %x21-2B / %x2D-7E
 *                   ;; Printable ASCII except ",".
 *                   ;; Note that any "printable" is also
 *                   ;; a valid "value".
 */
function isPrintableChars(text) {
  if (typeof text !== 'string') {
    throw new TypeError('SASL: text must be a string')
  }
  return text
    .split('')
    .map((_, i) => text.charCodeAt(i))
    .every((c) => (c >= 0x21 && c <= 0x2b) || (c >= 0x2d && c <= 0x7e))
}

/**
 * base64-char     = ALPHA / DIGIT / "/" / "+"
 *
 * base64-4        = 4base64-char
 *
 * base64-3        = 3base64-char "="
 *
 * base64-2        = 2base64-char "=="
 *
 * base64          = *base64-4 [base64-3 / base64-2]
 */
function isBase64(text) {
  return /^(?:[a-zA-Z0-9+/]{4})*(?:[a-zA-Z0-9+/]{2}==|[a-zA-Z0-9+/]{3}=)?$/.test(text)
}

function parseAttributePairs(text) {
  if (typeof text !== 'string') {
    throw new TypeError('SASL: attribute pairs text must be a string')
  }

  return new Map(
    text.split(',').map((attrValue) => {
      if (!/^.=/.test(attrValue)) {
        throw new Error('SASL: Invalid attribute pair entry')
      }
      const name = attrValue[0]
      const value = attrValue.substring(2)
      return [name, value]
    })
  )
}

function parseServerFirstMessage(data) {
  const attrPairs = parseAttributePairs(data)

  const nonce = attrPairs.get('r')
  if (!nonce) {
    throw new Error('SASL: SCRAM-SERVER-FIRST-MESSAGE: nonce missing')
  } else if (!isPrintableChars(nonce)) {
    throw new Error('SASL: SCRAM-SERVER-FIRST-MESSAGE: nonce must only contain printable characters')
  }
  const salt = attrPairs.get('s')
  if (!salt) {
    throw new Error('SASL: SCRAM-SERVER-FIRST-MESSAGE: salt missing')
  } else if (!isBase64(salt)) {
    throw new Error('SASL: SCRAM-SERVER-FIRST-MESSAGE: salt must be base64')
  }
  const iterationText = attrPairs.get('i')
  if (!iterationText) {
    throw new Error('SASL: SCRAM-SERVER-FIRST-MESSAGE: iteration missing')
  } else if (!/^[1-9][0-9]*$/.test(iterationText)) {
    throw new Error('SASL: SCRAM-SERVER-FIRST-MESSAGE: invalid iteration count')
  }
  const iteration = parseInt(iterationText, 10)

  return {
    nonce,
    salt,
    iteration,
  }
}

function parseServerFinalMessage(serverData) {
  const attrPairs = parseAttributePairs(serverData)
  const error = attrPairs.get('e')
  const serverSignature = attrPairs.get('v')

  if (error) {
    throw new Error(`SASL: SCRAM-SERVER-FINAL-MESSAGE: server returned error: "${error}"`)
  }

  if (!serverSignature) {
    throw new Error('SASL: SCRAM-SERVER-FINAL-MESSAGE: server signature is missing')
  } else if (!isBase64(serverSignature)) {
    throw new Error('SASL: SCRAM-SERVER-FINAL-MESSAGE: server signature must be base64')
  }
  return {
    serverSignature,
  }
}

function xorBuffers(a, b) {
  if (!Buffer.isBuffer(a)) {
    throw new TypeError('first argument must be a Buffer')
  }
  if (!Buffer.isBuffer(b)) {
    throw new TypeError('second argument must be a Buffer')
  }
  if (a.length !== b.length) {
    throw new Error('Buffer lengths must match')
  }
  if (a.length === 0) {
    throw new Error('Buffers cannot be empty')
  }
  return Buffer.from(a.map((_, i) => a[i] ^ b[i]))
}

module.exports = {
  startSession,
  continueSession,
  finalizeSession,
  DEFAULT_MAX_SCRAM_ITERATIONS,
}


/***/ }),

/***/ 4150:
/***/ ((module, __unused_webpack_exports, __nccwpck_require__) => {

const nodeCrypto = __nccwpck_require__(6982)

module.exports = {
  postgresMd5PasswordHash,
  randomBytes,
  deriveKey,
  sha256,
  hashByName,
  hmacSha256,
  md5,
}

/**
 * The Web Crypto API - grabbed from the Node.js library or the global
 * @type Crypto
 */
// eslint-disable-next-line no-undef
const webCrypto = nodeCrypto.webcrypto || globalThis.crypto
/**
 * The SubtleCrypto API for low level crypto operations.
 * @type SubtleCrypto
 */
const subtleCrypto = webCrypto.subtle
const textEncoder = new TextEncoder()

/**
 *
 * @param {*} length
 * @returns
 */
function randomBytes(length) {
  return webCrypto.getRandomValues(Buffer.alloc(length))
}

async function md5(string) {
  try {
    return nodeCrypto.createHash('md5').update(string, 'utf-8').digest('hex')
  } catch (e) {
    // `createHash()` failed so we are probably not in Node.js, use the WebCrypto API instead.
    // Note that the MD5 algorithm on WebCrypto is not available in Node.js.
    // This is why we cannot just use WebCrypto in all environments.
    const data = typeof string === 'string' ? textEncoder.encode(string) : string
    const hash = await subtleCrypto.digest('MD5', data)
    return Array.from(new Uint8Array(hash))
      .map((b) => b.toString(16).padStart(2, '0'))
      .join('')
  }
}

// See AuthenticationMD5Password at https://www.postgresql.org/docs/current/static/protocol-flow.html
async function postgresMd5PasswordHash(user, password, salt) {
  const inner = await md5(password + user)
  const outer = await md5(Buffer.concat([Buffer.from(inner), salt]))
  return 'md5' + outer
}

/**
 * Create a SHA-256 digest of the given data
 * @param {Buffer} data
 */
async function sha256(text) {
  return await subtleCrypto.digest('SHA-256', text)
}

async function hashByName(hashName, text) {
  return await subtleCrypto.digest(hashName, text)
}

/**
 * Sign the message with the given key
 * @param {ArrayBuffer} keyBuffer
 * @param {string} msg
 */
async function hmacSha256(keyBuffer, msg) {
  const key = await subtleCrypto.importKey('raw', keyBuffer, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign'])
  return await subtleCrypto.sign('HMAC', key, textEncoder.encode(msg))
}

/**
 * Derive a key from the password and salt
 * @param {string} password
 * @param {Uint8Array} salt
 * @param {number} iterations
 */
async function deriveKey(password, salt, iterations) {
  const key = await subtleCrypto.importKey('raw', textEncoder.encode(password), 'PBKDF2', false, ['deriveBits'])
  const params = { name: 'PBKDF2', hash: 'SHA-256', salt: salt, iterations: iterations }
  return await subtleCrypto.deriveBits(params, key, 32 * 8, ['deriveBits'])
}


/***/ }),

/***/ 8995:
/***/ ((module, __unused_webpack_exports, __nccwpck_require__) => {



let user
try {
  user = process.platform === 'win32' ? process.env.USERNAME : process.env.USER
} catch {
  // ignore, e.g., Deno without --allow-env
}

module.exports = {
  // database host. defaults to localhost
  host: 'localhost',

  // database user's name
  user,

  // name of database to connect
  database: undefined,

  // database user's password
  password: null,

  // a Postgres connection string to be used instead of setting individual connection items
  // NOTE:  Setting this value will cause it to override any other value (such as database or user) defined
  // in the defaults object.
  connectionString: undefined,

  // database port
  port: 5432,

  // number of rows to return at a time from a prepared statement's
  // portal. 0 will return all rows at once
  rows: 0,

  // binary result mode
  binary: false,

  // Connection pool options - see https://github.com/brianc/node-pg-pool

  // number of connections to use in connection pool
  // 0 will disable connection pooling
  max: 10,

  // max milliseconds a client can go unused before it is removed
  // from the pool and destroyed
  idleTimeoutMillis: 30000,

  client_encoding: '',

  ssl: false,

  // SSL negotiation style: 'postgres' (traditional SSLRequest) or 'direct'
  sslnegotiation: undefined,

  application_name: undefined,

  fallback_application_name: undefined,

  options: undefined,

  parseInputDatesAsUTC: false,

  // max milliseconds any query using this connection will execute for before timing out in error.
  // false=unlimited
  statement_timeout: false,

  // Abort any statement that waits longer than the specified duration in milliseconds while attempting to acquire a lock.
  // false=unlimited
  lock_timeout: false,

  // Terminate any session with an open transaction that has been idle for longer than the specified duration in milliseconds
  // false=unlimited
  idle_in_transaction_session_timeout: false,

  // max milliseconds to wait for query to complete (client side)
  query_timeout: false,

  connect_timeout: 0,

  keepalives: 1,

  keepalives_idle: 0,
}

const pgTypes = __nccwpck_require__(1549)
// save default parsers
const parseBigInteger = pgTypes.getTypeParser(20, 'text')
const parseBigIntegerArray = pgTypes.getTypeParser(1016, 'text')

// parse int8 so you can get your count values as actual numbers
module.exports.__defineSetter__('parseInt8', function (val) {
  pgTypes.setTypeParser(20, 'text', val ? pgTypes.getTypeParser(23, 'text') : parseBigInteger)
  pgTypes.setTypeParser(1016, 'text', val ? pgTypes.getTypeParser(1007, 'text') : parseBigIntegerArray)
})


/***/ }),

/***/ 3273:
/***/ ((module, __unused_webpack_exports, __nccwpck_require__) => {



const Client = __nccwpck_require__(5042)
const defaults = __nccwpck_require__(8995)
const Connection = __nccwpck_require__(9809)
const Result = __nccwpck_require__(6424)
const utils = __nccwpck_require__(9652)
const Pool = __nccwpck_require__(7558)
const TypeOverrides = __nccwpck_require__(365)
const { DatabaseError } = __nccwpck_require__(4233)
const { escapeIdentifier, escapeLiteral } = __nccwpck_require__(9652)

const poolFactory = (Client) => {
  return class BoundPool extends Pool {
    constructor(options) {
      super(options, Client)
    }
  }
}

const PG = function (clientConstructor) {
  this.defaults = defaults
  this.Client = clientConstructor
  this.Query = this.Client.Query
  this.Pool = poolFactory(this.Client)
  this._pools = []
  this.Connection = Connection
  this.types = __nccwpck_require__(1549)
  this.DatabaseError = DatabaseError
  this.TypeOverrides = TypeOverrides
  this.escapeIdentifier = escapeIdentifier
  this.escapeLiteral = escapeLiteral
  this.Result = Result
  this.utils = utils
}

let clientConstructor = Client

let forceNative = false
try {
  forceNative = !!process.env.NODE_PG_FORCE_NATIVE
} catch {
  // ignore, e.g., Deno without --allow-env
}

if (forceNative) {
  clientConstructor = __nccwpck_require__(5301)
}

module.exports = new PG(clientConstructor)

// lazy require native module...the native module may not have installed
Object.defineProperty(module.exports, "native", ({
  configurable: true,
  enumerable: false,
  get() {
    let native = null
    try {
      native = new PG(__nccwpck_require__(5301))
    } catch (err) {
      if (err.code !== 'MODULE_NOT_FOUND') {
        throw err
      }
    }

    // overwrite module.exports.native so that getter is never called again
    Object.defineProperty(module.exports, "native", ({
      value: native,
    }))

    return native
  },
}))


/***/ }),

/***/ 8942:
/***/ ((module, __unused_webpack_exports, __nccwpck_require__) => {

const nodeUtils = __nccwpck_require__(9023)
// eslint-disable-next-line
var Native
// eslint-disable-next-line no-useless-catch
try {
  // Wrap this `require()` in a try-catch to avoid upstream bundlers from complaining that this might not be available since it is an optional import
  Native = __nccwpck_require__(4390)
} catch (e) {
  throw e
}
const TypeOverrides = __nccwpck_require__(365)
const EventEmitter = (__nccwpck_require__(4434).EventEmitter)
const util = __nccwpck_require__(9023)
const ConnectionParameters = __nccwpck_require__(646)

const NativeQuery = __nccwpck_require__(7581)

const queryQueueLengthDeprecationNotice = nodeUtils.deprecate(
  () => {},
  'Calling client.query() when the client is already executing a query is deprecated and will be removed in pg@9.0. Use async/await or an external async flow control mechanism instead.'
)

const Client = (module.exports = function (config) {
  EventEmitter.call(this)
  config = config || {}

  this._Promise = config.Promise || global.Promise
  this._types = new TypeOverrides(config.types)

  this.native = new Native({
    types: this._types,
  })

  this._queryQueue = []
  this._ending = false
  this._connecting = false
  this._connected = false
  this._queryable = true
  this.pipeline = Boolean(config.pipeline)
  this._pipelineInFlight = false

  // keep these on the object for legacy reasons
  // for the time being. TODO: deprecate all this jazz
  const cp = (this.connectionParameters = new ConnectionParameters(config))
  if (config.nativeConnectionString) cp.nativeConnectionString = config.nativeConnectionString
  this.user = cp.user

  // "hiding" the password so it doesn't show up in stack traces
  // or if the client is console.logged
  Object.defineProperty(this, 'password', {
    configurable: true,
    enumerable: false,
    writable: true,
    value: cp.password,
  })
  this.database = cp.database
  this.host = cp.host
  this.port = cp.port

  // a hash to hold named queries
  this.namedQueries = {}
})

Client.Query = NativeQuery

util.inherits(Client, EventEmitter)

Client.prototype._errorAllQueries = function (err) {
  const enqueueError = (query) => {
    process.nextTick(() => {
      query.native = this.native
      query.handleError(err)
    })
  }

  if (this._hasActiveQuery()) {
    enqueueError(this._activeQuery)
    this._activeQuery = null
  }

  this._queryQueue.forEach(enqueueError)
  this._queryQueue.length = 0
}

// connect to the backend
// pass an optional callback to be called once connected
// or with an error if there was a connection error
Client.prototype._connect = function (cb) {
  const self = this

  if (this._connecting) {
    process.nextTick(() => cb(new Error('Client has already been connected. You cannot reuse a client.')))
    return
  }

  this._connecting = true

  this.connectionParameters.getLibpqConnectionString(function (err, conString) {
    if (self.connectionParameters.nativeConnectionString) conString = self.connectionParameters.nativeConnectionString
    if (err) return cb(err)
    self.native.connect(conString, function (err) {
      if (err) {
        self.native.end()
        return cb(err)
      }

      // set internal states to connected
      self._connected = true

      // handle connection errors from the native layer
      self.native.on('error', function (err) {
        self._queryable = false
        self._errorAllQueries(err)
        self.emit('error', err)
      })

      self.native.on('notification', function (msg) {
        self.emit('notification', {
          channel: msg.relname,
          payload: msg.extra,
        })
      })

      // signal we are connected now
      self.emit('connect')
      self._pulseQueryQueue(true)

      cb(null, this)
    })
  })
}

Client.prototype.connect = function (callback) {
  if (callback) {
    this._connect(callback)
    return
  }

  return new this._Promise((resolve, reject) => {
    this._connect((error) => {
      if (error) {
        reject(error)
      } else {
        resolve(this)
      }
    })
  })
}

// send a query to the server
// this method is highly overloaded to take
// 1) string query, optional array of parameters, optional function callback
// 2) object query with {
//    string query
//    optional array values,
//    optional function callback instead of as a separate parameter
//    optional string name to name & cache the query plan
//    optional string rowMode = 'array' for an array of results
//  }
Client.prototype.query = function (config, values, callback) {
  let query
  let result
  let readTimeout
  let readTimeoutTimer
  let queryCallback

  if (config === null || config === undefined) {
    throw new TypeError('Client was passed a null or undefined query')
  } else if (typeof config.submit === 'function') {
    readTimeout = config.query_timeout || this.connectionParameters.query_timeout
    result = query = config
    // accept query(new Query(...), (err, res) => { }) style
    if (typeof values === 'function') {
      config.callback = values
    }
  } else {
    readTimeout = config.query_timeout || this.connectionParameters.query_timeout
    query = new NativeQuery(config, values, callback)
    if (!query.callback) {
      let resolveOut, rejectOut
      result = new this._Promise((resolve, reject) => {
        resolveOut = resolve
        rejectOut = reject
      }).catch((err) => {
        Error.captureStackTrace(err)
        throw err
      })
      query.callback = (err, res) => (err ? rejectOut(err) : resolveOut(res))
    }
  }

  if (readTimeout) {
    queryCallback = query.callback || (() => {})

    readTimeoutTimer = setTimeout(() => {
      const error = new Error('Query read timeout')

      process.nextTick(() => {
        query.handleError(error, this.connection)
      })

      queryCallback(error)

      // we already returned an error,
      // just do nothing if query completes
      query.callback = () => {}

      // Remove from queue
      const index = this._queryQueue.indexOf(query)
      if (index > -1) {
        this._queryQueue.splice(index, 1)
      }

      this._pulseQueryQueue()
    }, readTimeout)

    query.callback = (err, res) => {
      clearTimeout(readTimeoutTimer)
      queryCallback(err, res)
    }
  }

  if (!this._queryable) {
    query.native = this.native
    process.nextTick(() => {
      query.handleError(new Error('Client has encountered a connection error and is not queryable'))
    })
    return result
  }

  if (this._ending) {
    query.native = this.native
    process.nextTick(() => {
      query.handleError(new Error('Client was closed and is not queryable'))
    })
    return result
  }

  if (this._queryQueue.length > 0 && !this.pipeline) {
    queryQueueLengthDeprecationNotice()
  }

  this._queryQueue.push(query)
  this._pulseQueryQueue()
  return result
}

// disconnect from the backend server
Client.prototype.end = function (cb) {
  const self = this

  this._ending = true

  if (this._connecting && !this._connected) {
    this.once('connect', () => {
      this.end(() => {})
    })
  }
  let result
  if (!cb) {
    result = new this._Promise(function (resolve, reject) {
      cb = (err) => (err ? reject(err) : resolve())
    })
  }

  const doEnd = function () {
    self.native.end(function () {
      self._connected = false

      self._errorAllQueries(new Error('Connection terminated'))

      process.nextTick(() => {
        self.emit('end')
        if (cb) cb()
      })
    })
  }

  // If pipeline has in-flight or queued queries, wait for them to drain before closing
  if (this.pipeline && (this._pipelineInFlight || this._queryQueue.length > 0)) {
    this.once('drain', doEnd)
  } else {
    doEnd()
  }
  return result
}

Client.prototype._hasActiveQuery = function () {
  return this._activeQuery && this._activeQuery.state !== 'error' && this._activeQuery.state !== 'end'
}

Client.prototype._pulseQueryQueue = function (initialConnection) {
  if (!this._connected) {
    return
  }
  if (this.pipeline && !initialConnection) {
    return this._pulsePipelinedQueryQueue()
  }
  if (this._hasActiveQuery()) {
    return
  }
  const query = this._queryQueue.shift()
  if (!query) {
    if (!initialConnection) {
      this.emit('drain')
    }
    return
  }
  this._activeQuery = query
  query.submit(this)
  const self = this
  query.once('_done', function () {
    self._pulseQueryQueue()
  })
}

Client.prototype._pulsePipelinedQueryQueue = function () {
  if (!this._connected || this._pipelineInFlight) {
    return
  }
  if (this._queryQueue.length === 0) {
    if (this.hasExecuted) {
      this.emit('drain')
    }
    return
  }

  this._pipelineInFlight = true
  const self = this
  const queries = []
  const nativeQueries = []
  const utils = __nccwpck_require__(9652)

  while (this._queryQueue.length > 0) {
    const query = this._queryQueue.shift()
    this.hasExecuted = true
    nativeQueries.push(query)

    const values = query.values ? query.values.map(utils.prepareValue) : null
    const pipelineEntry = { text: query.text, name: query.name, arrayMode: query._arrayMode }
    if (values) {
      pipelineEntry.values = values
    }
    if (query.name && this.namedQueries[query.name]) {
      pipelineEntry._alreadyPrepared = true
    }
    queries.push(pipelineEntry)
  }

  this.native.pipeline(queries, function (err, results) {
    self._pipelineInFlight = false

    if (err) {
      // Total pipeline failure. Per-query errors arrive on results[i].err, so reaching here means
      // the connection itself is gone: mark it unusable and say so, the way the JS client and the
      // non-pipelined native path both do. Without this the client looks healthy after losing its
      // backend, a Pool never discards it, and everything routed to it fails one query at a time
      // for the life of the process.
      self._connected = false
      self._queryable = false
      for (let i = 0; i < nativeQueries.length; i++) {
        const q = nativeQueries[i]
        q.native = self.native
        q.handleError(err)
      }
      self._errorAllQueries(err)
      self.emit('error', err)
      self.emit('end')
      return
    }

    // Deliver results to each query
    for (let i = 0; i < nativeQueries.length; i++) {
      const q = nativeQueries[i]
      const r = results[i]
      q.native = self.native

      if (r.err) {
        q.handleError(r.err)
      } else {
        // Track named queries on success
        if (q.name) {
          self.namedQueries[q.name] = q.text
        }
        q.state = 'end'
        q.emit('end', r.result)
        if (q.callback) {
          q.callback(null, r.result)
        }
      }

      setImmediate(function () {
        q.emit('_done')
      })
    }

    // Process any queries that arrived while we were reading
    self._pulsePipelinedQueryQueue()
  })
}

// attempt to cancel an in-progress query
Client.prototype.cancel = function (query) {
  if (this._activeQuery === query) {
    this.native.cancel(function () {})
  } else if (this._queryQueue.indexOf(query) !== -1) {
    this._queryQueue.splice(this._queryQueue.indexOf(query), 1)
  }
}

Client.prototype.ref = function () {}
Client.prototype.unref = function () {}

Client.prototype.setTypeParser = function (oid, format, parseFn) {
  return this._types.setTypeParser(oid, format, parseFn)
}

Client.prototype.getTypeParser = function (oid, format) {
  return this._types.getTypeParser(oid, format)
}

Client.prototype.isConnected = function () {
  return this._connected
}

Client.prototype.getTransactionStatus = function () {
  return this.native.getTransactionStatus()
}


/***/ }),

/***/ 5301:
/***/ ((module, __unused_webpack_exports, __nccwpck_require__) => {


module.exports = __nccwpck_require__(8942)


/***/ }),

/***/ 7581:
/***/ ((module, __unused_webpack_exports, __nccwpck_require__) => {



const EventEmitter = (__nccwpck_require__(4434).EventEmitter)
const util = __nccwpck_require__(9023)
const utils = __nccwpck_require__(9652)

const NativeQuery = (module.exports = function (config, values, callback) {
  EventEmitter.call(this)
  config = utils.normalizeQueryConfig(config, values, callback)
  this.text = config.text
  this.values = config.values
  this.name = config.name
  this.queryMode = config.queryMode
  this.callback = config.callback
  this.state = 'new'
  this._arrayMode = config.rowMode === 'array'

  // if the 'row' event is listened for
  // then emit them as they come in
  // without setting singleRowMode to true
  // this has almost no meaning because libpq
  // reads all rows into memory before returning any
  this._emitRowEvents = false
  this.on(
    'newListener',
    function (event) {
      if (event === 'row') this._emitRowEvents = true
    }.bind(this)
  )
})

util.inherits(NativeQuery, EventEmitter)

const errorFieldMap = {
  sqlState: 'code',
  statementPosition: 'position',
  messagePrimary: 'message',
  messageDetail: 'detail',
  messageHint: 'hint',
  context: 'where',
  schemaName: 'schema',
  tableName: 'table',
  columnName: 'column',
  dataTypeName: 'dataType',
  constraintName: 'constraint',
  sourceFile: 'file',
  sourceLine: 'line',
  sourceFunction: 'routine',
}

NativeQuery.prototype.handleError = function (err) {
  // copy pq error fields into the error object
  const fields = this.native && this.native.pq.resultErrorFields()
  if (fields) {
    for (const key in fields) {
      const normalizedFieldName = errorFieldMap[key] || key
      err[normalizedFieldName] = fields[key]
    }
  }
  if (this.callback) {
    this.callback(err)
  } else {
    this.emit('error', err)
  }
  this.state = 'error'
}

NativeQuery.prototype.then = function (onSuccess, onFailure) {
  return this._getPromise().then(onSuccess, onFailure)
}

NativeQuery.prototype.catch = function (callback) {
  return this._getPromise().catch(callback)
}

NativeQuery.prototype._getPromise = function () {
  if (this._promise) return this._promise
  this._promise = new Promise(
    function (resolve, reject) {
      this._once('end', resolve)
      this._once('error', reject)
    }.bind(this)
  )
  return this._promise
}

NativeQuery.prototype.submit = function (client) {
  this.state = 'running'
  const self = this
  this.native = client.native
  client.native.arrayMode = this._arrayMode

  let after = function (err, rows, results) {
    client.native.arrayMode = false
    setImmediate(function () {
      self.emit('_done')
    })

    // handle possible query error
    if (err) {
      return self.handleError(err)
    }

    // emit row events for each row in the result
    if (self._emitRowEvents) {
      if (results.length > 1) {
        rows.forEach((rowOfRows, i) => {
          rowOfRows.forEach((row) => {
            self.emit('row', row, results[i])
          })
        })
      } else {
        rows.forEach(function (row) {
          self.emit('row', row, results)
        })
      }
    }

    // handle successful result
    self.state = 'end'
    self.emit('end', results)
    if (self.callback) {
      self.callback(null, results)
    }
  }

  if (process.domain) {
    after = process.domain.bind(after)
  }

  // named query
  if (this.name) {
    if (this.name.length > 63) {
      console.error('Warning! Postgres only supports 63 characters for query names.')
      console.error('You supplied %s (%s)', this.name, this.name.length)
      console.error('This can cause conflicts and silent errors executing queries')
    }
    const values = (this.values || []).map(utils.prepareValue)

    // check if the client has already executed this named query
    // if so...just execute it again - skip the planning phase
    if (client.namedQueries[this.name] !== undefined) {
      if (this.text && client.namedQueries[this.name] !== this.text) {
        const err = new Error(`Prepared statements must be unique - '${this.name}' was used for a different statement`)
        return after(err)
      }
      return client.native.execute(this.name, values, after)
    }
    // plan the named query the first time, then execute it
    return client.native.prepare(this.name, this.text, values.length, function (err) {
      if (err) return after(err)
      client.namedQueries[self.name] = self.text
      return self.native.execute(self.name, values, after)
    })
  } else if (this.values) {
    if (!Array.isArray(this.values)) {
      const err = new Error('Query values must be an array')
      return after(err)
    }
    const vals = this.values.map(utils.prepareValue)
    client.native.query(this.text, vals, after)
  } else if (this.queryMode === 'extended') {
    client.native.query(this.text, [], after)
  } else {
    client.native.query(this.text, after)
  }
}


/***/ }),

/***/ 4473:
/***/ ((module, __unused_webpack_exports, __nccwpck_require__) => {



const { EventEmitter } = __nccwpck_require__(4434)

const Result = __nccwpck_require__(6424)
const utils = __nccwpck_require__(9652)

class Query extends EventEmitter {
  constructor(config, values, callback) {
    super()

    config = utils.normalizeQueryConfig(config, values, callback)

    this.text = config.text
    this.values = config.values
    this.rows = config.rows
    this.types = config.types
    this.name = config.name
    this.queryMode = config.queryMode
    this.binary = config.binary
    // use unique portal name each time
    this.portal = config.portal || ''
    this.callback = config.callback
    this._rowMode = config.rowMode
    if (process.domain && config.callback) {
      this.callback = process.domain.bind(config.callback)
    }
    this._result = new Result(this._rowMode, this.types)

    // potential for multiple results
    this._results = this._result
    this._canceledDueToError = false
  }

  requiresPreparation() {
    if (this.queryMode === 'extended') {
      return true
    }

    // named queries must always be prepared
    if (this.name) {
      return true
    }
    // always prepare if there are max number of rows expected per
    // portal execution
    if (this.rows) {
      return true
    }
    // don't prepare empty text queries
    if (!this.text) {
      return false
    }
    // prepare if there are values
    if (!this.values) {
      return false
    }
    return this.values.length > 0
  }

  _checkForMultirow() {
    // if we already have a result with a command property
    // then we've already executed one query in a multi-statement simple query
    // turn our results into an array of results
    if (this._result.command) {
      if (!Array.isArray(this._results)) {
        this._results = [this._result]
      }
      this._result = new Result(this._rowMode, this._result._types)
      this._results.push(this._result)
    }
  }

  // associates row metadata from the supplied
  // message with this query object
  // metadata used when parsing row results
  handleRowDescription(msg) {
    this._checkForMultirow()
    this._result.addFields(msg.fields)
    this._accumulateRows = this.callback || !this.listeners('row').length
  }

  handleDataRow(msg) {
    let row

    if (this._canceledDueToError) {
      return
    }

    try {
      row = this._result.parseRow(msg.fields)
    } catch (err) {
      this._canceledDueToError = err
      return
    }

    this.emit('row', row, this._result)
    if (this._accumulateRows) {
      this._result.addRow(row)
    }
  }

  handleCommandComplete(msg, connection) {
    this._checkForMultirow()
    this._result.addCommandComplete(msg)
    // need to sync after each command complete of a prepared statement
    // if we were using a row count which results in multiple calls to _getRows
    if (this.rows) {
      connection.sync()
    }
  }

  // if a named prepared statement is created with empty query text
  // the backend will send an emptyQuery message but *not* a command complete message
  // since we pipeline sync immediately after execute we don't need to do anything here
  // unless we have rows specified, in which case we did not pipeline the initial sync call
  handleEmptyQuery(connection) {
    if (this.rows) {
      connection.sync()
    }
  }

  handleError(err, connection) {
    // need to sync after error during a prepared statement
    if (this._canceledDueToError) {
      err = this._canceledDueToError
      this._canceledDueToError = false
    }
    // if callback supplied do not emit error event as uncaught error
    // events will bubble up to node process
    if (this.callback) {
      return this.callback(err)
    }
    this.emit('error', err)
  }

  handleReadyForQuery(con) {
    if (this._canceledDueToError) {
      return this.handleError(this._canceledDueToError, con)
    }
    if (this.callback) {
      try {
        this.callback(null, this._results)
      } catch (err) {
        process.nextTick(() => {
          throw err
        })
      }
    }
    this.emit('end', this._results)
  }

  submit(connection) {
    if (typeof this.text !== 'string' && typeof this.name !== 'string') {
      return new Error('A query must have either text or a name. Supplying neither is unsupported.')
    }
    const previous = connection.parsedStatements[this.name] || connection.submittedNamedStatements[this.name]
    if (this.text && previous && this.text !== previous) {
      return new Error(`Prepared statements must be unique - '${this.name}' was used for a different statement`)
    }
    if (this.values && !Array.isArray(this.values)) {
      return new Error('Query values must be an array')
    }
    if (this.requiresPreparation()) {
      // If we're using the extended query protocol we fire off several separate commands
      // to the backend. On some versions of node & some operating system versions
      // the network stack writes each message separately instead of buffering them together
      // causing the client & network to send more slowly. Corking & uncorking the stream
      // allows node to buffer up the messages internally before sending them all off at once.
      // note: we're checking for existence of cork/uncork because some versions of streams
      // might not have this (cloudflare?)
      connection.stream.cork && connection.stream.cork()
      try {
        this.prepare(connection)
      } finally {
        // while unlikely for this.prepare to throw, if it does & we don't uncork this stream
        // this client becomes unresponsive, so put in finally block "just in case"
        connection.stream.uncork && connection.stream.uncork()
      }
    } else {
      connection.query(this.text)
    }
    return null
  }

  hasBeenParsed(connection) {
    return (
      this.name &&
      (connection.parsedStatements[this.name] !== undefined ||
        connection.submittedNamedStatements[this.name] !== undefined)
    )
  }

  handlePortalSuspended(connection) {
    this._getRows(connection, this.rows)
  }

  _getRows(connection, rows) {
    connection.execute({
      portal: this.portal,
      rows: rows,
    })
    // if we're not reading pages of rows send the sync command
    // to indicate the pipeline is finished
    if (!rows) {
      connection.sync()
    } else {
      // otherwise flush the call out to read more rows
      connection.flush()
    }
  }

  // http://developer.postgresql.org/pgdocs/postgres/protocol-flow.html#PROTOCOL-FLOW-EXT-QUERY
  prepare(connection) {
    // TODO refactor this poor encapsulation
    if (!this.hasBeenParsed(connection)) {
      connection.parse({
        text: this.text,
        name: this.name,
        types: this.types,
      })
      if (this.name) {
        connection.submittedNamedStatements[this.name] = this.text
      }
    }

    // because we're mapping user supplied values to
    // postgres wire protocol compatible values it could
    // throw an exception, so try/catch this section
    try {
      connection.bind({
        portal: this.portal,
        statement: this.name,
        values: this.values,
        binary: this.binary,
        valueMapper: utils.prepareValue,
      })
    } catch (err) {
      // we should close parse to avoid leaking connections
      connection.close({ type: 'S', name: this.name })
      connection.sync()

      this.handleError(err, connection)
      return
    }

    connection.describe({
      type: 'P',
      name: this.portal || '',
    })

    this._getRows(connection, this.rows)
  }

  handleCopyInResponse(connection) {
    connection.sendCopyFail('No source stream defined')
  }

  handleCopyData(msg, connection) {
    // noop
  }
}

module.exports = Query


/***/ }),

/***/ 6424:
/***/ ((module, __unused_webpack_exports, __nccwpck_require__) => {



const types = __nccwpck_require__(1549)

const matchRegexp = /^([A-Za-z]+)(?: (\d+))?(?: (\d+))?/

// result object returned from query
// in the 'end' event and also
// passed as second argument to provided callback
class Result {
  constructor(rowMode, types) {
    this.command = null
    this.rowCount = null
    this.oid = null
    this.rows = []
    this.fields = []
    this._parsers = undefined
    this._types = types
    this.RowCtor = null
    this.rowAsArray = rowMode === 'array'
    if (this.rowAsArray) {
      this.parseRow = this._parseRowAsArray
    }
    this._prebuiltEmptyResultObject = null
  }

  // adds a command complete message
  addCommandComplete(msg) {
    let match
    if (msg.text) {
      // pure javascript
      match = matchRegexp.exec(msg.text)
    } else {
      // native bindings
      match = matchRegexp.exec(msg.command)
    }
    if (match) {
      this.command = match[1]
      if (match[3]) {
        // COMMAND OID ROWS
        this.oid = parseInt(match[2], 10)
        this.rowCount = parseInt(match[3], 10)
      } else if (match[2]) {
        // COMMAND ROWS
        this.rowCount = parseInt(match[2], 10)
      }
    }
  }

  _parseRowAsArray(rowData) {
    const row = new Array(rowData.length)
    for (let i = 0, len = rowData.length; i < len; i++) {
      const rawValue = rowData[i]
      if (rawValue !== null) {
        row[i] = this._parsers[i](rawValue)
      } else {
        row[i] = null
      }
    }
    return row
  }

  parseRow(rowData) {
    const row = { ...this._prebuiltEmptyResultObject }
    for (let i = 0, len = rowData.length; i < len; i++) {
      const rawValue = rowData[i]
      const field = this.fields[i].name
      if (rawValue !== null) {
        const v = this.fields[i].format === 'binary' ? Buffer.from(rawValue) : rawValue
        row[field] = this._parsers[i](v)
      } else {
        row[field] = null
      }
    }
    return row
  }

  addRow(row) {
    this.rows.push(row)
  }

  addFields(fieldDescriptions) {
    // clears field definitions
    // multiple query statements in 1 action can result in multiple sets
    // of rowDescriptions...eg: 'select NOW(); select 1::int;'
    // you need to reset the fields
    this.fields = fieldDescriptions
    if (this.fields.length) {
      this._parsers = new Array(fieldDescriptions.length)
    }

    const row = Object.create(null)

    for (let i = 0; i < fieldDescriptions.length; i++) {
      const desc = fieldDescriptions[i]
      row[desc.name] = null

      if (this._types) {
        this._parsers[i] = this._types.getTypeParser(desc.dataTypeID, desc.format || 'text')
      } else {
        this._parsers[i] = types.getTypeParser(desc.dataTypeID, desc.format || 'text')
      }
    }

    this._prebuiltEmptyResultObject = { ...row }
  }
}

module.exports = Result


/***/ }),

/***/ 829:
/***/ ((module, __unused_webpack_exports, __nccwpck_require__) => {

const { getStream, getSecureStream } = getStreamFuncs()

module.exports = {
  /**
   * Get a socket stream compatible with the current runtime environment.
   * @returns {Duplex}
   */
  getStream,
  /**
   * Get a TLS secured socket, compatible with the current environment,
   * using the socket and other settings given in `options`.
   * @returns {Duplex}
   */
  getSecureStream,
}

/**
 * The stream functions that work in Node.js
 */
function getNodejsStreamFuncs() {
  function getStream(ssl) {
    const net = __nccwpck_require__(9278)
    return new net.Socket()
  }

  function getSecureStream(options) {
    const tls = __nccwpck_require__(4756)
    return tls.connect(options)
  }
  return {
    getStream,
    getSecureStream,
  }
}

/**
 * The stream functions that work in Cloudflare Workers
 */
function getCloudflareStreamFuncs() {
  function getStream(ssl) {
    const { CloudflareSocket } = __nccwpck_require__(785)
    return new CloudflareSocket(ssl)
  }

  function getSecureStream(options) {
    options.socket.startTls(options)
    return options.socket
  }
  return {
    getStream,
    getSecureStream,
  }
}

/**
 * Are we running in a Cloudflare Worker?
 *
 * @returns true if the code is currently running inside a Cloudflare Worker.
 */
function isCloudflareRuntime() {
  // Since 2022-03-21 the `global_navigator` compatibility flag is on for Cloudflare Workers
  // which means that `navigator.userAgent` will be defined.
  // eslint-disable-next-line no-undef
  if (typeof navigator === 'object' && navigator !== null && typeof navigator.userAgent === 'string') {
    // eslint-disable-next-line no-undef
    return navigator.userAgent === 'Cloudflare-Workers'
  }
  // In case `navigator` or `navigator.userAgent` is not defined then try a more sneaky approach
  if (typeof Response === 'function') {
    const resp = new Response(null, { cf: { thing: true } })
    if (typeof resp.cf === 'object' && resp.cf !== null && resp.cf.thing) {
      return true
    }
  }
  return false
}

function getStreamFuncs() {
  if (isCloudflareRuntime()) {
    return getCloudflareStreamFuncs()
  }
  return getNodejsStreamFuncs()
}


/***/ }),

/***/ 365:
/***/ ((module, __unused_webpack_exports, __nccwpck_require__) => {



const types = __nccwpck_require__(1549)

function TypeOverrides(userTypes) {
  this._types = userTypes || types
  this.text = {}
  this.binary = {}
}

TypeOverrides.prototype.getOverrides = function (format) {
  switch (format) {
    case 'text':
      return this.text
    case 'binary':
      return this.binary
    default:
      return {}
  }
}

TypeOverrides.prototype.setTypeParser = function (oid, format, parseFn) {
  if (typeof format === 'function') {
    parseFn = format
    format = 'text'
  }
  this.getOverrides(format)[oid] = parseFn
}

TypeOverrides.prototype.getTypeParser = function (oid, format) {
  format = format || 'text'
  return this.getOverrides(format)[oid] || this._types.getTypeParser(oid, format)
}

module.exports = TypeOverrides


/***/ }),

/***/ 9652:
/***/ ((module, __unused_webpack_exports, __nccwpck_require__) => {



const defaults = __nccwpck_require__(8995)
const nodeUtils = __nccwpck_require__(9023)

const { isDate } = __nccwpck_require__(8253)

const invalidDateDeprecationNotice = nodeUtils.deprecate(
  () => {},
  'Sending an invalid date to Postgres is deprecated and will throw an error in the next major version of pg. Ensure any Date object passed as a query parameter is valid.',
  'PG_INVALID_DATE'
)

function escapeElement(elementRepresentation) {
  const escaped = elementRepresentation.replace(/\\/g, '\\\\').replace(/"/g, '\\"')

  return '"' + escaped + '"'
}

// convert a JS array to a postgres array literal
// uses comma separator so won't work for types like box that use
// a different array separator.
function arrayString(val) {
  let result = '{'
  for (let i = 0; i < val.length; i++) {
    if (i > 0) {
      result += ','
    }
    let item = val[i]
    if (item == null) {
      result += 'NULL'
    } else if (Array.isArray(item)) {
      result += arrayString(item)
    } else if (ArrayBuffer.isView(item)) {
      if (!(item instanceof Buffer)) {
        item = Buffer.from(item.buffer, item.byteOffset, item.byteLength)
      }
      result += '\\\\x' + item.toString('hex')
    } else {
      result += escapeElement(prepareValue(item))
    }
  }
  result += '}'
  return result
}

// converts values from javascript types
// to their 'raw' counterparts for use as a postgres parameter
// note: you can override this function to provide your own conversion mechanism
// for complex types, etc...
const prepareValue = function (val, seen) {
  // null and undefined are both null for postgres
  if (val == null) {
    return null
  }
  if (typeof val === 'object') {
    if (val instanceof Buffer) {
      return val
    }
    if (ArrayBuffer.isView(val)) {
      return Buffer.from(val.buffer, val.byteOffset, val.byteLength)
    }
    if (isDate(val)) {
      if (isNaN(val.getTime())) {
        invalidDateDeprecationNotice()
      }
      if (defaults.parseInputDatesAsUTC) {
        return dateToStringUTC(val)
      } else {
        return dateToString(val)
      }
    }
    if (Array.isArray(val)) {
      return arrayString(val)
    }

    return prepareObject(val, seen)
  }
  return val.toString()
}

function prepareObject(val, seen) {
  if (val && typeof val.toPostgres === 'function') {
    seen = seen || []
    if (seen.indexOf(val) !== -1) {
      throw new Error('circular reference detected while preparing "' + val + '" for query')
    }
    seen.push(val)

    return prepareValue(val.toPostgres(prepareValue), seen)
  }
  return JSON.stringify(val)
}

function dateToString(date) {
  let offset = -date.getTimezoneOffset()

  let year = date.getFullYear()
  const isBCYear = year < 1
  if (isBCYear) year = Math.abs(year) + 1 // negative years are 1 off their BC representation

  let ret =
    String(year).padStart(4, '0') +
    '-' +
    String(date.getMonth() + 1).padStart(2, '0') +
    '-' +
    String(date.getDate()).padStart(2, '0') +
    'T' +
    String(date.getHours()).padStart(2, '0') +
    ':' +
    String(date.getMinutes()).padStart(2, '0') +
    ':' +
    String(date.getSeconds()).padStart(2, '0') +
    '.' +
    String(date.getMilliseconds()).padStart(3, '0')

  if (offset < 0) {
    ret += '-'
    offset *= -1
  } else {
    ret += '+'
  }

  ret += String(Math.floor(offset / 60)).padStart(2, '0') + ':' + String(offset % 60).padStart(2, '0')
  if (isBCYear) ret += ' BC'
  return ret
}

function dateToStringUTC(date) {
  let year = date.getUTCFullYear()
  const isBCYear = year < 1
  if (isBCYear) year = Math.abs(year) + 1 // negative years are 1 off their BC representation

  let ret =
    String(year).padStart(4, '0') +
    '-' +
    String(date.getUTCMonth() + 1).padStart(2, '0') +
    '-' +
    String(date.getUTCDate()).padStart(2, '0') +
    'T' +
    String(date.getUTCHours()).padStart(2, '0') +
    ':' +
    String(date.getUTCMinutes()).padStart(2, '0') +
    ':' +
    String(date.getUTCSeconds()).padStart(2, '0') +
    '.' +
    String(date.getUTCMilliseconds()).padStart(3, '0')

  ret += '+00:00'
  if (isBCYear) ret += ' BC'
  return ret
}

function normalizeQueryConfig(config, values, callback) {
  // can take in strings or config objects
  // Copy config so normalization does not mutate the caller's object.
  config = typeof config === 'string' ? { text: config } : cloneQueryConfig(config)
  if (values) {
    if (typeof values === 'function') {
      config.callback = values
    } else {
      config.values = values
    }
  }
  if (callback) {
    config.callback = callback
  }
  return config
}

function cloneQueryConfig(config) {
  if (config == null) {
    return config
  }
  return Object.defineProperties(Object.create(Object.getPrototypeOf(config)), Object.getOwnPropertyDescriptors(config))
}

// Ported from PostgreSQL 9.2.4 source code in src/interfaces/libpq/fe-exec.c
const escapeIdentifier = function (str) {
  return '"' + str.replace(/"/g, '""') + '"'
}

const escapeLiteral = function (str) {
  let hasBackslash = false
  let escaped = "'"

  if (str == null) {
    return "''"
  }

  if (typeof str !== 'string') {
    return "''"
  }

  for (let i = 0; i < str.length; i++) {
    const c = str[i]
    if (c === "'") {
      escaped += c + c
    } else if (c === '\\') {
      escaped += c + c
      hasBackslash = true
    } else {
      escaped += c
    }
  }

  escaped += "'"

  if (hasBackslash === true) {
    escaped = ' E' + escaped
  }

  return escaped
}

module.exports = {
  prepareValue: function prepareValueWrapper(value) {
    // this ensures that extra arguments do not get passed into prepareValue
    // by accident, eg: from calling values.map(utils.prepareValue)
    return prepareValue(value)
  },
  normalizeQueryConfig,
  escapeIdentifier,
  escapeLiteral,
}


/***/ }),

/***/ 8702:
/***/ ((module, __unused_webpack_exports, __nccwpck_require__) => {



var path = __nccwpck_require__(6928)
  , Stream = (__nccwpck_require__(2203).Stream)
  , split = __nccwpck_require__(5286)
  , util = __nccwpck_require__(9023)
  , defaultPort = 5432
  , isWin = (process.platform === 'win32')
  , warnStream = process.stderr
;


var S_IRWXG = 56     //    00070(8)
  , S_IRWXO = 7      //    00007(8)
  , S_IFMT  = 61440  // 00170000(8)
  , S_IFREG = 32768  //  0100000(8)
;
function isRegFile(mode) {
    return ((mode & S_IFMT) == S_IFREG);
}

var fieldNames = [ 'host', 'port', 'database', 'user', 'password' ];
var nrOfFields = fieldNames.length;
var passKey = fieldNames[ nrOfFields -1 ];


function warn() {
    var isWritable = (
        warnStream instanceof Stream &&
          true === warnStream.writable
    );

    if (isWritable) {
        var args = Array.prototype.slice.call(arguments).concat("\n");
        warnStream.write( util.format.apply(util, args) );
    }
}


Object.defineProperty(module.exports, "isWin", ({
    get : function() {
        return isWin;
    } ,
    set : function(val) {
        isWin = val;
    }
}));


module.exports.warnTo = function(stream) {
    var old = warnStream;
    warnStream = stream;
    return old;
};

module.exports.getFileName = function(rawEnv){
    var env = rawEnv || process.env;
    var file = env.PGPASSFILE || (
        isWin ?
          path.join( env.APPDATA || './' , 'postgresql', 'pgpass.conf' ) :
          path.join( env.HOME || './', '.pgpass' )
    );
    return file;
};

module.exports.usePgPass = function(stats, fname) {
    if (Object.prototype.hasOwnProperty.call(process.env, 'PGPASSWORD')) {
        return false;
    }

    if (isWin) {
        return true;
    }

    fname = fname || '<unkn>';

    if (! isRegFile(stats.mode)) {
        warn('WARNING: password file "%s" is not a plain file', fname);
        return false;
    }

    if (stats.mode & (S_IRWXG | S_IRWXO)) {
        /* If password file is insecure, alert the user and ignore it. */
        warn('WARNING: password file "%s" has group or world access; permissions should be u=rw (0600) or less', fname);
        return false;
    }

    return true;
};


var matcher = module.exports.match = function(connInfo, entry) {
    return fieldNames.slice(0, -1).reduce(function(prev, field, idx){
        if (idx == 1) {
            // the port
            if ( Number( connInfo[field] || defaultPort ) === Number( entry[field] ) ) {
                return prev && true;
            }
        }
        return prev && (
            entry[field] === '*' ||
              entry[field] === connInfo[field]
        );
    }, true);
};


module.exports.getPassword = function(connInfo, stream, cb) {
    var pass;
    var lineStream = stream.pipe(split());

    function onLine(line) {
        var entry = parseLine(line);
        if (entry && isValidEntry(entry) && matcher(connInfo, entry)) {
            pass = entry[passKey];
            lineStream.end(); // -> calls onEnd(), but pass is set now
        }
    }

    var onEnd = function() {
        stream.destroy();
        cb(pass);
    };

    var onErr = function(err) {
        stream.destroy();
        warn('WARNING: error on reading file: %s', err);
        cb(undefined);
    };

    stream.on('error', onErr);
    lineStream
        .on('data', onLine)
        .on('end', onEnd)
        .on('error', onErr)
    ;

};


var parseLine = module.exports.parseLine = function(line) {
    if (line.length < 11 || line.match(/^\s+#/)) {
        return null;
    }

    var curChar = '';
    var prevChar = '';
    var fieldIdx = 0;
    var startIdx = 0;
    var endIdx = 0;
    var obj = {};
    var isLastField = false;
    var addToObj = function(idx, i0, i1) {
        var field = line.substring(i0, i1);

        if (! Object.hasOwnProperty.call(process.env, 'PGPASS_NO_DEESCAPE')) {
            field = field.replace(/\\([:\\])/g, '$1');
        }

        obj[ fieldNames[idx] ] = field;
    };

    for (var i = 0 ; i < line.length-1 ; i += 1) {
        curChar = line.charAt(i+1);
        prevChar = line.charAt(i);

        isLastField = (fieldIdx == nrOfFields-1);

        if (isLastField) {
            addToObj(fieldIdx, startIdx);
            break;
        }

        if (i >= 0 && curChar == ':' && prevChar !== '\\') {
            addToObj(fieldIdx, startIdx, i+1);

            startIdx = i+2;
            fieldIdx += 1;
        }
    }

    obj = ( Object.keys(obj).length === nrOfFields ) ? obj : null;

    return obj;
};


var isValidEntry = module.exports.isValidEntry = function(entry){
    var rules = {
        // host
        0 : function(x){
            return x.length > 0;
        } ,
        // port
        1 : function(x){
            if (x === '*') {
                return true;
            }
            x = Number(x);
            return (
                isFinite(x) &&
                  x > 0 &&
                  x < 9007199254740992 &&
                  Math.floor(x) === x
            );
        } ,
        // database
        2 : function(x){
            return x.length > 0;
        } ,
        // username
        3 : function(x){
            return x.length > 0;
        } ,
        // password
        4 : function(x){
            return x.length > 0;
        }
    };

    for (var idx = 0 ; idx < fieldNames.length ; idx += 1) {
        var rule = rules[idx];
        var value = entry[ fieldNames[idx] ] || '';

        var res = rule(value);
        if (!res) {
            return false;
        }
    }

    return true;
};



/***/ }),

/***/ 3272:
/***/ ((module, __unused_webpack_exports, __nccwpck_require__) => {



var path = __nccwpck_require__(6928)
  , fs = __nccwpck_require__(9896)
  , helper = __nccwpck_require__(8702)
;


module.exports = function(connInfo, cb) {
    var file = helper.getFileName();
    
    fs.stat(file, function(err, stat){
        if (err || !helper.usePgPass(stat, file)) {
            return cb(undefined);
        }

        var st = fs.createReadStream(file);

        helper.getPassword(connInfo, st, cb);
    });
};

module.exports.warnTo = helper.warnTo;


/***/ }),

/***/ 3879:
/***/ ((__unused_webpack_module, exports) => {



exports.parse = function (source, transform) {
  return new ArrayParser(source, transform).parse()
}

class ArrayParser {
  constructor (source, transform) {
    this.source = source
    this.transform = transform || identity
    this.position = 0
    this.entries = []
    this.recorded = []
    this.dimension = 0
  }

  isEof () {
    return this.position >= this.source.length
  }

  nextCharacter () {
    var character = this.source[this.position++]
    if (character === '\\') {
      return {
        value: this.source[this.position++],
        escaped: true
      }
    }
    return {
      value: character,
      escaped: false
    }
  }

  record (character) {
    this.recorded.push(character)
  }

  newEntry (includeEmpty) {
    var entry
    if (this.recorded.length > 0 || includeEmpty) {
      entry = this.recorded.join('')
      if (entry === 'NULL' && !includeEmpty) {
        entry = null
      }
      if (entry !== null) entry = this.transform(entry)
      this.entries.push(entry)
      this.recorded = []
    }
  }

  consumeDimensions () {
    if (this.source[0] === '[') {
      while (!this.isEof()) {
        var char = this.nextCharacter()
        if (char.value === '=') break
      }
    }
  }

  parse (nested) {
    var character, parser, quote
    this.consumeDimensions()
    while (!this.isEof()) {
      character = this.nextCharacter()
      if (character.value === '{' && !quote) {
        this.dimension++
        if (this.dimension > 1) {
          parser = new ArrayParser(this.source.substr(this.position - 1), this.transform)
          this.entries.push(parser.parse(true))
          this.position += parser.position - 2
        }
      } else if (character.value === '}' && !quote) {
        this.dimension--
        if (!this.dimension) {
          this.newEntry()
          if (nested) return this.entries
        }
      } else if (character.value === '"' && !character.escaped) {
        if (quote) this.newEntry(true)
        quote = !quote
      } else if (character.value === ',' && !quote) {
        this.newEntry()
      } else {
        this.record(character.value)
      }
    }
    if (this.dimension !== 0) {
      throw new Error('array dimension not balanced')
    }
    return this.entries
  }
}

function identity (value) {
  return value
}


/***/ }),

/***/ 463:
/***/ ((module) => {



var bufferFrom = Buffer.from || Buffer

module.exports = function parseBytea (input) {
  if (/^\\x/.test(input)) {
    // new 'hex' style response (pg >9.0)
    return bufferFrom(input.substr(2), 'hex')
  }
  var output = ''
  var i = 0
  while (i < input.length) {
    if (input[i] !== '\\') {
      output += input[i]
      ++i
    } else {
      if (/[0-7]{3}/.test(input.substr(i + 1, 3))) {
        output += String.fromCharCode(parseInt(input.substr(i + 1, 3), 8))
        i += 4
      } else {
        var backslashes = 1
        while (i + backslashes < input.length && input[i + backslashes] === '\\') {
          backslashes++
        }
        for (var k = 0; k < Math.floor(backslashes / 2); ++k) {
          output += '\\'
        }
        i += Math.floor(backslashes / 2) * 2
      }
    }
  }
  return bufferFrom(output, 'binary')
}


/***/ }),

/***/ 2690:
/***/ ((module) => {



var DATE_TIME = /(\d{1,})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})(\.\d{1,})?.*?( BC)?$/
var DATE = /^(\d{1,})-(\d{2})-(\d{2})( BC)?$/
var TIME_ZONE = /([Z+-])(\d{2})?:?(\d{2})?:?(\d{2})?/
var INFINITY = /^-?infinity$/

module.exports = function parseDate (isoDate) {
  if (INFINITY.test(isoDate)) {
    // Capitalize to Infinity before passing to Number
    return Number(isoDate.replace('i', 'I'))
  }
  var matches = DATE_TIME.exec(isoDate)

  if (!matches) {
    // Force YYYY-MM-DD dates to be parsed as local time
    return getDate(isoDate) || null
  }

  var isBC = !!matches[8]
  var year = parseInt(matches[1], 10)
  if (isBC) {
    year = bcYearToNegativeYear(year)
  }

  var month = parseInt(matches[2], 10) - 1
  var day = matches[3]
  var hour = parseInt(matches[4], 10)
  var minute = parseInt(matches[5], 10)
  var second = parseInt(matches[6], 10)

  var ms = matches[7]
  ms = ms ? 1000 * parseFloat(ms) : 0

  var date
  var offset = timeZoneOffset(isoDate)
  if (offset != null) {
    date = new Date(Date.UTC(year, month, day, hour, minute, second, ms))

    // Account for years from 0 to 99 being interpreted as 1900-1999
    // by Date.UTC / the multi-argument form of the Date constructor
    if (is0To99(year)) {
      date.setUTCFullYear(year)
    }

    if (offset !== 0) {
      date.setTime(date.getTime() - offset)
    }
  } else {
    date = new Date(year, month, day, hour, minute, second, ms)

    if (is0To99(year)) {
      date.setFullYear(year)
    }
  }

  return date
}

function getDate (isoDate) {
  var matches = DATE.exec(isoDate)
  if (!matches) {
    return
  }

  var year = parseInt(matches[1], 10)
  var isBC = !!matches[4]
  if (isBC) {
    year = bcYearToNegativeYear(year)
  }

  var month = parseInt(matches[2], 10) - 1
  var day = matches[3]
  // YYYY-MM-DD will be parsed as local time
  var date = new Date(year, month, day)

  if (is0To99(year)) {
    date.setFullYear(year)
  }

  return date
}

// match timezones:
// Z (UTC)
// -05
// +06:30
function timeZoneOffset (isoDate) {
  if (isoDate.endsWith('+00')) {
    return 0
  }

  var zone = TIME_ZONE.exec(isoDate.split(' ')[1])
  if (!zone) return
  var type = zone[1]

  if (type === 'Z') {
    return 0
  }
  var sign = type === '-' ? -1 : 1
  var offset = parseInt(zone[2], 10) * 3600 +
    parseInt(zone[3] || 0, 10) * 60 +
    parseInt(zone[4] || 0, 10)

  return offset * sign * 1000
}

function bcYearToNegativeYear (year) {
  // Account for numerical difference between representations of BC years
  // See: https://github.com/bendrucker/postgres-date/issues/5
  return -(year - 1)
}

function is0To99 (num) {
  return num >= 0 && num < 100
}


/***/ }),

/***/ 8755:
/***/ ((module, __unused_webpack_exports, __nccwpck_require__) => {



var extend = __nccwpck_require__(223)

module.exports = PostgresInterval

function PostgresInterval (raw) {
  if (!(this instanceof PostgresInterval)) {
    return new PostgresInterval(raw)
  }
  extend(this, parse(raw))
}
var properties = ['seconds', 'minutes', 'hours', 'days', 'months', 'years']
PostgresInterval.prototype.toPostgres = function () {
  var filtered = properties.filter(this.hasOwnProperty, this)

  // In addition to `properties`, we need to account for fractions of seconds.
  if (this.milliseconds && filtered.indexOf('seconds') < 0) {
    filtered.push('seconds')
  }

  if (filtered.length === 0) return '0'
  return filtered
    .map(function (property) {
      var value = this[property] || 0

      // Account for fractional part of seconds,
      // remove trailing zeroes.
      if (property === 'seconds' && this.milliseconds) {
        value = (value + this.milliseconds / 1000).toFixed(6).replace(/\.?0+$/, '')
      }

      return value + ' ' + property
    }, this)
    .join(' ')
}

var propertiesISOEquivalent = {
  years: 'Y',
  months: 'M',
  days: 'D',
  hours: 'H',
  minutes: 'M',
  seconds: 'S'
}
var dateProperties = ['years', 'months', 'days']
var timeProperties = ['hours', 'minutes', 'seconds']
// according to ISO 8601
PostgresInterval.prototype.toISOString = PostgresInterval.prototype.toISO = function () {
  var datePart = dateProperties
    .map(buildProperty, this)
    .join('')

  var timePart = timeProperties
    .map(buildProperty, this)
    .join('')

  return 'P' + datePart + 'T' + timePart

  function buildProperty (property) {
    var value = this[property] || 0

    // Account for fractional part of seconds,
    // remove trailing zeroes.
    if (property === 'seconds' && this.milliseconds) {
      value = (value + this.milliseconds / 1000).toFixed(6).replace(/0+$/, '')
    }

    return value + propertiesISOEquivalent[property]
  }
}

var NUMBER = '([+-]?\\d+)'
var YEAR = NUMBER + '\\s+years?'
var MONTH = NUMBER + '\\s+mons?'
var DAY = NUMBER + '\\s+days?'
var TIME = '([+-])?([\\d]*):(\\d\\d):(\\d\\d)\\.?(\\d{1,6})?'
var INTERVAL = new RegExp([YEAR, MONTH, DAY, TIME].map(function (regexString) {
  return '(' + regexString + ')?'
})
  .join('\\s*'))

// Positions of values in regex match
var positions = {
  years: 2,
  months: 4,
  days: 6,
  hours: 9,
  minutes: 10,
  seconds: 11,
  milliseconds: 12
}
// We can use negative time
var negatives = ['hours', 'minutes', 'seconds', 'milliseconds']

function parseMilliseconds (fraction) {
  // add omitted zeroes
  var microseconds = fraction + '000000'.slice(fraction.length)
  return parseInt(microseconds, 10) / 1000
}

function parse (interval) {
  if (!interval) return {}
  var matches = INTERVAL.exec(interval)
  var isNegative = matches[8] === '-'
  return Object.keys(positions)
    .reduce(function (parsed, property) {
      var position = positions[property]
      var value = matches[position]
      // no empty string
      if (!value) return parsed
      // milliseconds are actually microseconds (up to 6 digits)
      // with omitted trailing zeroes.
      value = property === 'milliseconds'
        ? parseMilliseconds(value)
        : parseInt(value, 10)
      // no zeros
      if (!value) return parsed
      if (isNegative && ~negatives.indexOf(property)) {
        value *= -1
      }
      parsed[property] = value
      return parsed
    }, {})
}


/***/ }),

/***/ 5286:
/***/ ((module, __unused_webpack_exports, __nccwpck_require__) => {

/*
Copyright (c) 2014-2021, Matteo Collina <hello@matteocollina.com>

Permission to use, copy, modify, and/or distribute this software for any
purpose with or without fee is hereby granted, provided that the above
copyright notice and this permission notice appear in all copies.

THE SOFTWARE IS PROVIDED "AS IS" AND THE AUTHOR DISCLAIMS ALL WARRANTIES
WITH REGARD TO THIS SOFTWARE INCLUDING ALL IMPLIED WARRANTIES OF
MERCHANTABILITY AND FITNESS. IN NO EVENT SHALL THE AUTHOR BE LIABLE FOR
ANY SPECIAL, DIRECT, INDIRECT, OR CONSEQUENTIAL DAMAGES OR ANY DAMAGES
WHATSOEVER RESULTING FROM LOSS OF USE, DATA OR PROFITS, WHETHER IN AN
ACTION OF CONTRACT, NEGLIGENCE OR OTHER TORTIOUS ACTION, ARISING OUT OF OR
IN CONNECTION WITH THE USE OR PERFORMANCE OF THIS SOFTWARE.
*/



const { Transform } = __nccwpck_require__(2203)
const { StringDecoder } = __nccwpck_require__(3193)
const kLast = Symbol('last')
const kDecoder = Symbol('decoder')

function transform (chunk, enc, cb) {
  let list
  if (this.overflow) { // Line buffer is full. Skip to start of next line.
    const buf = this[kDecoder].write(chunk)
    list = buf.split(this.matcher)

    if (list.length === 1) return cb() // Line ending not found. Discard entire chunk.

    // Line ending found. Discard trailing fragment of previous line and reset overflow state.
    list.shift()
    this.overflow = false
  } else {
    this[kLast] += this[kDecoder].write(chunk)
    list = this[kLast].split(this.matcher)
  }

  this[kLast] = list.pop()

  for (let i = 0; i < list.length; i++) {
    try {
      push(this, this.mapper(list[i]))
    } catch (error) {
      return cb(error)
    }
  }

  this.overflow = this[kLast].length > this.maxLength
  if (this.overflow && !this.skipOverflow) {
    cb(new Error('maximum buffer reached'))
    return
  }

  cb()
}

function flush (cb) {
  // forward any gibberish left in there
  this[kLast] += this[kDecoder].end()

  if (this[kLast]) {
    try {
      push(this, this.mapper(this[kLast]))
    } catch (error) {
      return cb(error)
    }
  }

  cb()
}

function push (self, val) {
  if (val !== undefined) {
    self.push(val)
  }
}

function noop (incoming) {
  return incoming
}

function split (matcher, mapper, options) {
  // Set defaults for any arguments not supplied.
  matcher = matcher || /\r?\n/
  mapper = mapper || noop
  options = options || {}

  // Test arguments explicitly.
  switch (arguments.length) {
    case 1:
      // If mapper is only argument.
      if (typeof matcher === 'function') {
        mapper = matcher
        matcher = /\r?\n/
      // If options is only argument.
      } else if (typeof matcher === 'object' && !(matcher instanceof RegExp) && !matcher[Symbol.split]) {
        options = matcher
        matcher = /\r?\n/
      }
      break

    case 2:
      // If mapper and options are arguments.
      if (typeof matcher === 'function') {
        options = mapper
        mapper = matcher
        matcher = /\r?\n/
      // If matcher and options are arguments.
      } else if (typeof mapper === 'object') {
        options = mapper
        mapper = noop
      }
  }

  options = Object.assign({}, options)
  options.autoDestroy = true
  options.transform = transform
  options.flush = flush
  options.readableObjectMode = true

  const stream = new Transform(options)

  stream[kLast] = ''
  stream[kDecoder] = new StringDecoder('utf8')
  stream.matcher = matcher
  stream.mapper = mapper
  stream.maxLength = options.maxLength
  stream.skipOverflow = options.skipOverflow || false
  stream.overflow = false
  stream._destroy = function (err, cb) {
    // Weird Node v12 bug that we need to work around
    this._writableState.errorEmitted = false
    cb(err)
  }

  return stream
}

module.exports = split


/***/ }),

/***/ 223:
/***/ ((module) => {

module.exports = extend

var hasOwnProperty = Object.prototype.hasOwnProperty;

function extend(target) {
    for (var i = 1; i < arguments.length; i++) {
        var source = arguments[i]

        for (var key in source) {
            if (hasOwnProperty.call(source, key)) {
                target[key] = source[key]
            }
        }
    }

    return target
}


/***/ }),

/***/ 8084:
/***/ ((module, __unused_webpack___webpack_exports__, __nccwpck_require__) => {

__nccwpck_require__.a(module, async (__webpack_handle_async_dependencies__, __webpack_async_result__) => { try {
/* harmony import */ var _cli_js__WEBPACK_IMPORTED_MODULE_0__ = __nccwpck_require__(1786);

process.exitCode = await (0,_cli_js__WEBPACK_IMPORTED_MODULE_0__/* .main */ .i)(process.argv.slice(2));

__webpack_async_result__();
} catch(e) { __webpack_async_result__(e); } }, 1);

/***/ }),

/***/ 1786:
/***/ ((__unused_webpack_module, __webpack_exports__, __nccwpck_require__) => {


// EXPORTS
__nccwpck_require__.d(__webpack_exports__, {
  i: () => (/* binding */ main)
});

// UNUSED EXPORTS: parseArgs

;// CONCATENATED MODULE: external "node:fs/promises"
const promises_namespaceObject = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:fs/promises");
;// CONCATENATED MODULE: external "node:path"
const external_node_path_namespaceObject = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:path");
;// CONCATENATED MODULE: ./src/errors.ts
/**
 * An error the user can act on: `message` says what happened, `location` where, `hint` what to do.
 * `code` is stable and machine-readable (used in reports and tests).
 */
class GuardError extends Error {
    code;
    options;
    constructor(code, message, options = {}) {
        super(message, { cause: options.cause });
        this.code = code;
        this.options = options;
        this.name = 'GuardError';
    }
    get location() {
        return this.options.location;
    }
    get hint() {
        return this.options.hint;
    }
    /** One line for logs: "file:line:col: message (hint)". */
    describe() {
        return [formatLocation(this.location), this.message, this.hint ? `\n  ${this.hint}` : '']
            .filter(Boolean)
            .join('');
    }
}
/** "file:line:column: " (or "" without a file); takes a SourceLocation or an error detail. */
function formatLocation(location) {
    if (!location?.file)
        return '';
    const parts = [location.file, location.line, location.column].filter((p) => p !== undefined);
    return `${parts.join(':')}: `;
}
function errorMessage(error) {
    if (error instanceof GuardError)
        return error.describe();
    if (error instanceof Error)
        return error.message;
    return String(error);
}

// EXTERNAL MODULE: external "node:crypto"
var external_node_crypto_ = __nccwpck_require__(7598);
;// CONCATENATED MODULE: external "node:os"
const external_node_os_namespaceObject = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:os");
// EXTERNAL MODULE: external "node:fs"
var external_node_fs_ = __nccwpck_require__(3024);
;// CONCATENATED MODULE: ./src/config/run-context.ts


/** Reads GitHub's documented environment variables; outside Actions, names the local user. */
function runContextFromEnv(env = process.env) {
    if (!env.GITHUB_ACTIONS && !env.GITHUB_RUN_ID) {
        let user = 'local';
        try {
            user = (0,external_node_os_namespaceObject.userInfo)().username;
        }
        catch {
            // no passwd entry (some containers): keep the generic name
        }
        return { actor: `${user}@${(0,external_node_os_namespaceObject.hostname)()}` };
    }
    const server = env.GITHUB_SERVER_URL ?? 'https://github.com';
    const runUrl = env.GITHUB_REPOSITORY && env.GITHUB_RUN_ID
        ? `${server}/${env.GITHUB_REPOSITORY}/actions/runs/${env.GITHUB_RUN_ID}`
        : undefined;
    return {
        actor: env.GITHUB_ACTOR ?? 'github-actions',
        triggeringActor: env.GITHUB_TRIGGERING_ACTOR,
        eventName: env.GITHUB_EVENT_NAME,
        repository: env.GITHUB_REPOSITORY,
        ref: env.GITHUB_REF,
        sha: env.GITHUB_SHA,
        runUrl,
        runId: env.GITHUB_RUN_ID,
        pullRequest: pullRequestNumber(env.GITHUB_EVENT_PATH),
    };
}
function pullRequestNumber(eventPath) {
    if (!eventPath)
        return undefined;
    try {
        const event = JSON.parse((0,external_node_fs_.readFileSync)(eventPath, 'utf8'));
        return event.pull_request?.number ?? undefined;
    }
    catch {
        return undefined;
    }
}
/** What pg_stat_activity shows for our session, so a waiting run can name this one. */
function applicationName(command, environment, context) {
    const who = context.runId ? `gh-run ${context.runId}` : context.actor;
    return `migration-guard ${command} ${environment} ${who}`;
}

// EXTERNAL MODULE: ./node_modules/pg/lib/index.js
var lib = __nccwpck_require__(3273);
;// CONCATENATED MODULE: ./node_modules/pg/esm/index.mjs
// ESM wrapper for pg


// Re-export all the properties
const Client = lib.Client
const Pool = lib.Pool
const Connection = lib.Connection
const types = lib.types
const Query = lib.Query
const DatabaseError = lib.DatabaseError
const escapeIdentifier = lib.escapeIdentifier
const escapeLiteral = lib.escapeLiteral
const Result = lib.Result
const TypeOverrides = lib.TypeOverrides

// Also export the defaults
const defaults = lib.defaults

// Re-export the default
/* harmony default export */ const esm = (lib);

;// CONCATENATED MODULE: ./src/docs-links.ts
/**
 * Where an error's "what to do next" sends the user for more: the README's troubleshooting
 * entries. One place for the address, so a hint never points at a heading that does not exist
 * (__tests__/workflows/readme-tables.test.ts checks every topic against the README's headings).
 */
const README_URL = 'https://github.com/supabase-migration-guard/supabase-migration-guard/blob/v1/README.md';
const TROUBLESHOOTING_TOPICS = (/* unused pure expression or super */ null && ([
    'cannot-reach-the-database',
    'password-authentication-failed',
    'tls-certificate-errors',
    'transaction-pooler-port-6543-refused',
    'pg_dump-is-older-than-the-server',
    'another-run-holds-the-lock',
    'history-and-files-disagree',
    'a-fan-out-target-shows-no-report',
]));
/** " More: <README>#topic" — appended to a hint. */
function seeTroubleshooting(topic) {
    return ` More: ${README_URL}#${topic}`;
}

;// CONCATENATED MODULE: ./src/db/connect.ts



/** PostgreSQL truncates application_name to NAMEDATALEN-1 bytes. */
const MAX_APPLICATION_NAME = 63;
async function connect(target, options) {
    return startConnecting(target, options).ready;
}
/** A client on its way: `ready` settles when it is connected (or could not be). */
function startConnecting(target, options) {
    const client = new esm.Client({
        host: target.host,
        port: target.port,
        user: target.user,
        password: target.password,
        database: target.database,
        ssl: target.ssl,
        application_name: truncateUtf8(options.applicationName, MAX_APPLICATION_NAME),
        connectionTimeoutMillis: options.connectTimeoutMs ?? 15_000,
    });
    // An idle client whose socket dies emits 'error'; without a listener Node would crash the process.
    client.on('error', () => { });
    let connected = false;
    const ready = client.connect().then(() => {
        connected = true;
        return client;
    }, async (error) => {
        await client.end().catch(() => { });
        throw describeConnectError(error, target);
    });
    return {
        ready,
        abandon: () => {
            if (connected) {
                client.end().catch(() => { });
                return;
            }
            // Still connecting: do what pg itself does when its connect timeout fires, so a host that
            // never answers cannot keep the process alive (`end()` would wait for the connection).
            const connection = client.connection;
            if (connection)
                connection._ending = true;
            connection?.stream?.destroy();
        },
    };
}
/** Opens a client, runs `fn`, and always closes the client. */
async function withClient(target, options, fn) {
    return withClientAfter(target, options, async () => undefined, fn);
}
/**
 * Like `withClient`, with `meanwhile` (local work such as reading the migration files) running
 * while the connection opens: connecting costs several round trips, more over TLS to a remote
 * host. Errors come in the same order as if the two ran one after the other: when `meanwhile`
 * fails, the connection is dropped unfinished and only that error is reported.
 */
async function withClientAfter(target, options, meanwhile, fn) {
    const connecting = startConnecting(target, options);
    connecting.ready.catch(() => { }); // reported below, once `meanwhile` has succeeded
    let value;
    try {
        value = await meanwhile();
    }
    catch (error) {
        connecting.abandon();
        throw error;
    }
    const client = await connecting.ready;
    try {
        return await fn(client, value);
    }
    finally {
        await client.end().catch(() => { });
    }
}
function describeConnectError(error, target) {
    const err = error;
    const where = target.display;
    const cases = {
        ECONNREFUSED: [
            `Nothing is listening at ${where}`,
            `Check the host and port in database-url, and that the server is running.${seeTroubleshooting('cannot-reach-the-database')}`,
        ],
        ENOTFOUND: [
            `The host "${target.host}" cannot be resolved`,
            `Check the host name in database-url. Supabase direct hosts are IPv6-only: from GitHub runners use the session pooler host.${seeTroubleshooting('cannot-reach-the-database')}`,
        ],
        EAI_AGAIN: [
            `The host "${target.host}" cannot be resolved right now`,
            'Check DNS and the host name in database-url.',
        ],
        ETIMEDOUT: [
            `Connecting to ${where} timed out`,
            `Check that the host is reachable from this runner (firewall, IPv6-only hosts).${seeTroubleshooting('cannot-reach-the-database')}`,
        ],
        // An IPv6 address (Supabase's direct host) from a runner without IPv6, as GitHub's runners are.
        ENETUNREACH: [
            `This runner has no network route to ${where}`,
            `GitHub-hosted runners have no IPv6 and Supabase's direct database host is IPv6-only: use the session pooler (port 5432).${seeTroubleshooting('cannot-reach-the-database')}`,
        ],
        EHOSTUNREACH: [
            `The host of ${where} is unreachable from this runner`,
            `Check the host in database-url and the network between this runner and the server (IPv6-only hosts, firewalls).${seeTroubleshooting('cannot-reach-the-database')}`,
        ],
        '28P01': [
            `Password authentication failed for user "${target.user}" at ${where}`,
            `Check the password in the database-url secret.${seeTroubleshooting('password-authentication-failed')}`,
        ],
        '28000': [
            `The server at ${where} refused the connection for user "${target.user}"`,
            'Check pg_hba.conf / network restrictions and the user name.',
        ],
        '3D000': [
            `Database "${target.database}" does not exist at ${where}`,
            'Check the database name in database-url.',
        ],
    };
    const known = err?.code ? cases[err.code] : undefined;
    if (known)
        return new GuardError('connection-failed', known[0], {
            hint: known[1],
            cause: error,
            sqlstate: err.code,
        });
    const message = err?.message ?? String(error);
    const tlsHint = /SSL|TLS|certificate|self.signed/i.test(message)
        ? `For a server with a private CA add sslrootcert=/path/to/ca.pem to the URL; sslmode=require encrypts without checking the certificate; sslmode=disable only for a trusted network.${seeTroubleshooting('tls-certificate-errors')}`
        : `Check database-url and that the server is reachable.${seeTroubleshooting('cannot-reach-the-database')}`;
    if (/timeout/i.test(message)) {
        return new GuardError('connection-failed', `Connecting to ${where} timed out`, {
            hint: `Check that the host is reachable from this runner.${seeTroubleshooting('cannot-reach-the-database')}`,
            cause: error,
        });
    }
    return new GuardError('connection-failed', `Cannot connect to ${where}: ${message}`, {
        hint: tlsHint,
        cause: error,
    });
}
function truncateUtf8(text, maxBytes) {
    let out = text;
    while (Buffer.byteLength(out, 'utf8') > maxBytes)
        out = out.slice(0, -1);
    return out;
}

;// CONCATENATED MODULE: ./src/audit/events.ts
function runIdentity(ctx, runKey, local) {
    const { settings, run } = ctx;
    return {
        runKey,
        environment: settings.environment,
        command: settings.command,
        actor: run.actor ?? null,
        triggeringActor: run.triggeringActor ?? null,
        eventName: run.eventName ?? null,
        repository: run.repository ?? null,
        ref: run.ref ?? null,
        sha: run.sha ?? null,
        prNumber: run.pullRequest ?? null,
        runUrl: run.runUrl ?? null,
        osUser: local?.osUser ?? null,
        host: local?.host ?? null,
        reason: settings.reason ?? null,
    };
}
function startedEvent(identity, at) {
    return events_event(identity, 'run-started', at, null, {});
}
/** The row of a verified backup. */
function backupEvent(identity, at, runId, backup) {
    const { path, sha256, sizeBytes, pgDumpVersion } = backup;
    return events_event(identity, 'backup-taken', at, runId, {
        durationMs: backup.durationMs,
        details: { path, sha256, sizeBytes, pgDumpVersion },
    });
}
/** The row of one lock-timeout retry; the blocker's query is normalised (engine/query-text.ts). */
function lockRetryEvent(identity, at, runId, retry) {
    return events_event(identity, 'lock-retry', at, runId, {
        version: retry.version ?? null,
        details: { attempt: retry.attempt, delayMs: retry.delayMs, blocker: retry.blocker ?? null },
    });
}
/** The row of a migration whose statements and history row committed. */
function appliedEvent(identity, at, runId, m) {
    return events_event(identity, 'migration-applied', at, runId, {
        version: m.version,
        durationMs: m.durationMs,
        details: { file: m.file ?? null, name: m.name ?? null },
    });
}
/**
 * What makes two rows "the same fact": a row written live, as its stage event came, is not
 * written again from the result at the end (recorder.ts).
 */
function factKey(e) {
    const details = (e.details ?? {});
    if (e.event === 'lock-retry')
        return `lock-retry:${String(details.attempt)}:${String(details.delayMs)}`;
    return `${e.event}:${e.version ?? ''}`;
}
/** A manual run refused by the guard (guard/manual-run.ts): the only row such a run writes. */
function refusedEvent(identity, at, refusal) {
    return events_event(identity, 'manual-run-refused', at, null, {
        outcome: 'refused',
        error: refusal.message,
        details: {
            rule: refusal.rule,
            role: refusal.role ?? null,
            allowedRoles: refusal.allowedRoles,
            rateLimit: refusal.rateLimit ?? null,
            nextAllowedAt: refusal.nextAllowedAt ?? null,
        },
    });
}
/**
 * The events of a finished run, read from its result: backup, lock retries, each migration's
 * fate, rollbacks, and the run's end. What was already written as it happened is left out by
 * the recorder (`factKey`).
 */
function eventsOfResult(identity, result) {
    const at = result.finishedAt;
    const runId = result.runId ?? null;
    const make = (name, fields) => events_event(identity, name, at, runId, fields);
    const events = [];
    if (result.backup)
        events.push(backupEvent(identity, at, runId, result.backup));
    for (const retry of result.lock?.retries ?? [])
        events.push(lockRetryEvent(identity, at, runId, retry));
    const reverted = new Set(result.rollback?.kind === 'automatic' ? result.rollback.reverted : []);
    for (const m of result.migrations) {
        const base = { version: m.version, durationMs: m.durationMs, details: { file: m.file, name: m.name } };
        const error = m.error ? formatError(m.error) : null;
        if (m.status === 'applied')
            events.push(appliedEvent(identity, at, runId, m));
        else if (m.status === 'baselined')
            events.push(make('migration-baselined', base));
        else if (m.status === 'failed' || m.status === 'partially-applied')
            events.push(make(m.error?.message.startsWith('verify script failed') ? 'verify-failed' : 'migration-failed', {
                ...base,
                outcome: m.status,
                error,
            }));
        else if (m.status === 'rolled-back')
            events.push(make(reverted.has(m.version) ? 'migration-reverted' : 'migration-rolled-back', {
                ...base,
                outcome: reverted.has(m.version)
                    ? 'reverted by its down migration'
                    : 'undone with the failed transaction',
            }));
    }
    if (result.rollback?.kind === 'command') {
        for (const version of result.rollback.reverted)
            events.push(make('migration-rolled-back', { version, outcome: 'rollback command' }));
    }
    if (result.rollback?.kind === 'restore' && result.rollback.succeeded)
        events.push(make('backup-restored', { details: { backupPath: result.rollback.backupPath ?? null } }));
    events.push(make('run-ended', {
        outcome: result.cancelled ? 'cancelled' : result.status,
        durationMs: result.durationMs,
        error: result.status === 'success' || result.status === 'nothing-to-do' ? null : result.message || null,
        details: {
            applied: result.applied,
            pendingCount: result.pendingCount,
            currentVersion: result.currentVersion ?? null,
            rollback: result.rollback ?? null,
        },
    }));
    return events;
}
function formatError(error) {
    const where = error.file ? `${error.file}${error.line ? `:${error.line}` : ''}: ` : '';
    return `${where}${error.message}`;
}
function events_event(identity, name, at, runId, fields) {
    return {
        ...identity,
        at,
        runId,
        event: name,
        outcome: null,
        version: null,
        durationMs: null,
        error: null,
        details: null,
        ...fields,
    };
}

;// CONCATENATED MODULE: ./src/secrets.ts
/**
 * Collects secret strings (database URLs, passwords) and removes them from any text that leaves
 * the process. Each secret is also registered in the forms it can appear in: URL-encoded and decoded.
 */
class SecretScrubber {
    /** Longest first, so a URL is replaced whole before its password would be; kept sorted on add. */
    longestFirst = [];
    add(secret) {
        if (!secret || secret.length < 3)
            return;
        const forms = new Set([...this.longestFirst, ...variantsOf(secret)]);
        this.longestFirst = [...forms].sort((a, b) => b.length - a.length);
    }
    list() {
        return [...this.longestFirst];
    }
    scrub = (text) => {
        let out = text;
        for (const secret of this.longestFirst) {
            if (out.includes(secret))
                out = out.split(secret).join('***');
        }
        return out;
    };
    /**
     * The text scrubbed, then cut to at most `max` characters (and "…"). In that order: a cut through
     * a secret would leave a fragment no scrubber can recognise, while a secret replaced first is
     * gone whole wherever the cut falls. Every sink that shortens text goes through here.
     */
    excerpt(text, max) {
        return cut(this.scrub(text), max);
    }
    /**
     * Deep-scrubs every string inside a JSON-compatible value (strings themselves, not their JSON
     * escapes), returning a scrubbed copy, or the value itself when it holds no secret. A run's
     * result holds thousands of strings and usually no secret: one search of its JSON text (for each
     * secret as it would appear there, escaped) settles that.
     */
    scrubValue(value) {
        const json = JSON.stringify(value);
        const mayHold = (secret) => json.includes(JSON.stringify(secret).slice(1, -1));
        if (json !== undefined && !this.longestFirst.some(mayHold))
            return value;
        return this.scrubDeep(value);
    }
    scrubDeep(value) {
        if (typeof value === 'string')
            return this.scrub(value);
        if (Array.isArray(value))
            return value.map((v) => this.scrubDeep(v));
        if (value && typeof value === 'object' && !(value instanceof Date)) {
            return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, this.scrubDeep(v)]));
        }
        return value;
    }
}
function variantsOf(secret) {
    const forms = new Set([secret]);
    try {
        forms.add(decodeURIComponent(secret));
    }
    catch {
        // not URL-encoded: the raw form is enough
    }
    forms.add(encodeURIComponent(secret));
    return [...forms].filter((f) => f.length >= 3);
}
/**
 * `text` cut to `max` characters plus "…", never between the halves of a surrogate pair.
 * Cutting an excerpt again leaves it as it is (its first `max` characters are the same).
 */
function cut(text, max) {
    if (text.length <= max)
        return text;
    const end = /[\uD800-\uDBFF]/.test(text.charAt(max - 1)) ? max - 1 : max;
    return `${text.slice(0, end)}…`;
}

;// CONCATENATED MODULE: ./src/outbound.ts

/** How much of the failed statement an error quotes in the report and the run record. */
const STATEMENT_EXCERPT_CHARS = 500;
/**
 * A value as it may leave the process (a run's result, a run record's details): every string
 * scrubbed, then the `statement` each error quotes (any object with a `message` and a `statement`)
 * cut to an excerpt. The engine keeps whole statements so that the cut happens here, after
 * scrubbing: cut first, a secret straddling the cut would leave a fragment no scrubber recognises.
 */
function outbound(value, scrubber) {
    return excerptStatements(scrubber.scrubValue(value));
}
/** Returns `value` itself when no statement needed cutting (the common case), a copy otherwise. */
function excerptStatements(value) {
    if (Array.isArray(value)) {
        const items = value.map(excerptStatements);
        return (items.some((item, i) => item !== value[i]) ? items : value);
    }
    if (!value || typeof value !== 'object' || value instanceof Date)
        return value;
    let changed = false;
    const entries = Object.entries(value).map(([key, v]) => {
        const next = excerptStatements(v);
        changed ||= next !== v;
        return [key, next];
    });
    const record = Object.fromEntries(entries);
    if (typeof record.message === 'string' &&
        typeof record.statement === 'string' &&
        record.statement.length > STATEMENT_EXCERPT_CHARS) {
        record.statement = cut(record.statement, STATEMENT_EXCERPT_CHARS);
        changed = true;
    }
    return (changed ? record : value);
}

;// CONCATENATED MODULE: ./src/db/binary-array.ts
const TEXT_OID = 25;
/**
 * A text[] parameter in PostgreSQL's binary format (what array_recv reads), as a Buffer, which
 * node-postgres sends as is. Migration statements go to the history this way: a text parameter
 * would be escaped into a second, larger string first (and JSON a third), which for a 100 MB data
 * migration cost over a gigabyte of client memory. Here the statements are written once, as UTF-8.
 */
function binaryTextArray(values) {
    const header = values.length === 0 ? 12 : 20;
    let size = header;
    for (const value of values)
        size += 4 + Buffer.byteLength(value, 'utf8');
    const buffer = Buffer.allocUnsafe(size);
    buffer.writeInt32BE(values.length === 0 ? 0 : 1, 0); // dimensions
    buffer.writeInt32BE(0, 4); // no NULL elements
    buffer.writeUInt32BE(TEXT_OID, 8);
    if (values.length > 0) {
        buffer.writeInt32BE(values.length, 12);
        buffer.writeInt32BE(1, 16); // lower bound
    }
    let offset = header;
    for (const value of values) {
        const length = buffer.write(value, offset + 4, 'utf8');
        buffer.writeInt32BE(length, offset);
        offset += 4 + length;
    }
    return buffer;
}

;// CONCATENATED MODULE: ./src/db/guard-store.ts


/**
 * Our own bookkeeping beside the Supabase history: a checksum per applied migration (the Supabase
 * table has none) and one row per run. Created with IF NOT EXISTS so later versions can add
 * columns the same way without a migration framework of their own.
 */
const CREATE_GUARD_SCHEMA = [
    'CREATE SCHEMA IF NOT EXISTS migration_guard',
    `CREATE TABLE IF NOT EXISTS migration_guard.runs (
     id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
     command text NOT NULL,
     environment text NOT NULL,
     status text NOT NULL DEFAULT 'running',
     transaction_mode text,
     started_at timestamptz NOT NULL DEFAULT clock_timestamp(),
     finished_at timestamptz,
     actor text,
     run_url text,
     repository text,
     ref text,
     sha text,
     applied text[] NOT NULL DEFAULT '{}',
     error text
   )`,
    `CREATE TABLE IF NOT EXISTS migration_guard.migrations (
     version text PRIMARY KEY,
     name text NOT NULL,
     checksum text NOT NULL,
     applied_at timestamptz NOT NULL DEFAULT clock_timestamp(),
     applied_by text,
     run_id bigint,
     duration_ms integer,
     method text NOT NULL DEFAULT 'applied' CHECK (method IN ('applied', 'baseline'))
   )`,
    // Added after the first release: each later column gets its own ADD COLUMN IF NOT EXISTS, and
    // NEWEST_COLUMN below names the last one so existing databases are upgraded once.
    'ALTER TABLE migration_guard.runs ADD COLUMN IF NOT EXISTS details jsonb',
    // The session that runs the migrations (and holds the lock): a run whose session is gone died
    // without a word (db/abandoned-runs.ts). The start time tells a reused pid from the original.
    'ALTER TABLE migration_guard.runs ADD COLUMN IF NOT EXISTS session_pid integer',
    'ALTER TABLE migration_guard.runs ADD COLUMN IF NOT EXISTS session_started timestamptz',
];
/** The most recently added column: when it exists, the schema is current and no DDL runs. */
const NEWEST_COLUMN = { table: 'migration_guard.runs', column: 'session_started' };
/**
 * Taken (transaction-level) by everything that creates our schema's objects: two connections
 * running CREATE … IF NOT EXISTS at once can both decide to create and one then fails.
 */
const GUARD_DDL_LOCK = 0x6d6764646c;
async function ensureGuardSchema(client) {
    // Checked first: on an adopted database the DDL (and its catalogue locks) is skipped entirely.
    const { rows } = await client.query(`SELECT to_regclass('migration_guard.migrations') IS NOT NULL
        AND EXISTS (SELECT 1 FROM pg_attribute
                     WHERE attrelid = to_regclass($1) AND attname = $2 AND NOT attisdropped) AS ready`, [NEWEST_COLUMN.table, NEWEST_COLUMN.column]);
    if (rows[0].ready)
        return;
    // One message: one implicit transaction (or part of the caller's) holding the DDL lock.
    await client.query([`SELECT pg_advisory_xact_lock(${GUARD_DDL_LOCK})`, ...CREATE_GUARD_SCHEMA].join(';\n'));
}
async function readChecksums(client) {
    const { rows } = await client.query("SELECT to_regclass('migration_guard.migrations') IS NOT NULL AS exists");
    if (!rows[0].exists)
        return new Map();
    const result = await client.query('SELECT version, checksum, applied_at, applied_by, method FROM migration_guard.migrations');
    return new Map(result.rows.map((r) => [
        r.version,
        {
            version: r.version,
            checksum: r.checksum,
            appliedAt: r.applied_at,
            appliedBy: r.applied_by,
            method: r.method,
        },
    ]));
}
/** A version applied again (after a rollback, say) replaces its old checksum row. */
const REPLACE_CHECKSUM_ROW = `ON CONFLICT (version) DO UPDATE SET name = EXCLUDED.name, checksum = EXCLUDED.checksum,
       applied_at = clock_timestamp(), applied_by = EXCLUDED.applied_by, run_id = EXCLUDED.run_id,
       duration_ms = EXCLUDED.duration_ms, method = EXCLUDED.method`;
async function recordChecksum(client, row) {
    await client.query(`INSERT INTO migration_guard.migrations (version, name, checksum, applied_by, run_id, duration_ms, method)
     VALUES ($1, $2, $3, $4, $5, $6, $7)
     ${REPLACE_CHECKSUM_ROW}`, [
        row.version,
        row.name,
        row.checksum,
        row.appliedBy,
        row.runId ?? null,
        row.durationMs ?? null,
        row.method,
    ]);
}
/** After a restore: checksum rows whose version the (restored) history no longer has. */
async function forgetChecksumsNotIn(client, versions) {
    await client.query('DELETE FROM migration_guard.migrations WHERE NOT (version = ANY ($1::text[]))', [
        versions,
    ]);
}
/**
 * Records applied migrations in both histories (Supabase's and our checksum table) in one round
 * trip, inside the migrations' own transaction. PostgreSQL arrays cannot be ragged, so every
 * file's statements travel in one flat text[] (binary: see binary-array.ts) beside the index of
 * the file each belongs to, and are gathered back per file on the server.
 */
async function recordAppliedMigrations(client, rows, run) {
    // A named statement: parsed and planned once per connection, not once per file in per-file mode.
    await client.query({
        name: 'migration-guard-record-applied',
        text: `WITH input AS (
       SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::int[]) WITH ORDINALITY
                AS t(version, name, checksum, duration_ms, file)
     ), statements AS (
       SELECT file, array_agg(statement ORDER BY position) AS statements
         FROM unnest($7::text[], $8::int[]) WITH ORDINALITY AS s(statement, file, position)
        GROUP BY file
     ), history AS (
       INSERT INTO supabase_migrations.schema_migrations (version, name, statements)
       SELECT version, name, coalesce(statements.statements, '{}') FROM input LEFT JOIN statements USING (file)
     )
     INSERT INTO migration_guard.migrations (version, name, checksum, applied_by, run_id, duration_ms, method)
     SELECT version, name, checksum, $5, $6, duration_ms, 'applied' FROM input
     ${REPLACE_CHECKSUM_ROW}`,
        values: [
            rows.map((r) => r.version),
            rows.map((r) => r.name),
            rows.map((r) => r.checksum),
            rows.map((r) => r.durationMs),
            run.appliedBy,
            run.runId,
            binaryTextArray(rows.flatMap((r) => r.statements)),
            rows.flatMap((r, index) => r.statements.map(() => index + 1)),
        ],
    });
}
/**
 * Per-file runs send many transactions in one simple-protocol message (engine/chain.ts), where
 * bind parameters cannot go. Their history rows are staged first, with parameters, as session
 * settings named by ordinal; each transaction's record command copies its own row. Settings
 * rather than a temporary table: no catalogue writes, no TEMP privilege, gone with the session.
 */
async function stageAppliedMigrations(client, rows, run) {
    if (rows.length === 0)
        return;
    // The row is built as JSON on the server: statements travel as in recordAppliedMigrations.
    await client.query(`WITH statements AS (
       SELECT file, array_agg(statement ORDER BY position) AS statements
         FROM unnest($5::text[], $6::int[]) WITH ORDINALITY AS s(statement, file, position)
        GROUP BY file
     )
     SELECT count(set_config('migration_guard.record_' || ordinal, jsonb_build_object(
              'version', version, 'name', name, 'statements', coalesce(statements.statements, '{}'),
              'checksum', checksum, 'applied_by', $7::text, 'run_id', $8::bigint)::text, false))
       FROM unnest($1::int[], $2::text[], $3::text[], $4::text[]) WITH ORDINALITY AS t(ordinal, version, name, checksum, file)
       LEFT JOIN statements USING (file)`, [
        rows.map((r) => r.ordinal),
        rows.map((r) => r.version),
        rows.map((r) => r.name),
        rows.map((r) => r.checksum),
        binaryTextArray(rows.flatMap((r) => r.statements)),
        rows.flatMap((r, index) => r.statements.map(() => index + 1)),
        run.appliedBy,
        run.runId,
    ]);
}
/**
 * Clears staged rows 1..`count` once the run is done with them: the session may go back to a
 * pooler and on to another client, which should not find our migrations' text in its settings.
 */
async function unstageAppliedMigrations(client, count) {
    if (count <= 0)
        return;
    await client.query(`SELECT count(set_config('migration_guard.record_' || n, '', false)) FROM generate_series(1, $1::int) AS n`, [count]);
}
/**
 * An expression that notes when a file's transaction started its work. Not transaction_timestamp(): in a message
 * holding several transactions that is when the message arrived, for all of them.
 */
const MARK_FILE_START = "set_config('migration_guard.file_started', extract(epoch FROM clock_timestamp())::text, true)";
/**
 * The command that writes staged row `ordinal` to both histories, inside the migration's own
 * transaction, with its duration since MARK_FILE_START by the server's clock, which it also
 * returns (the report shows it). The ordinal is a
 * number the executor hands out; it is checked here because it becomes part of the SQL text.
 */
function recordStagedMigrationSql(ordinal) {
    if (!Number.isSafeInteger(ordinal) || ordinal < 0)
        throw new Error(`invalid record ordinal ${ordinal}`);
    return `WITH input AS (
  SELECT * FROM jsonb_to_record(current_setting('migration_guard.record_${ordinal}')::jsonb)
    AS r(version text, name text, statements text[], checksum text, applied_by text, run_id bigint)
), history AS (
  INSERT INTO supabase_migrations.schema_migrations (version, name, statements)
  SELECT version, name, statements FROM input
)
INSERT INTO migration_guard.migrations (version, name, checksum, applied_by, run_id, duration_ms, method)
SELECT version, name, checksum, applied_by, run_id,
       round((extract(epoch FROM clock_timestamp())
              - current_setting('migration_guard.file_started')::float8) * 1000), 'applied' FROM input
${REPLACE_CHECKSUM_ROW}
RETURNING duration_ms`;
}
/** A revert's bookkeeping: the migrations are no longer applied (both histories, one round trip). */
async function forgetMigrations(client, versions) {
    await client.query(`WITH history AS (DELETE FROM supabase_migrations.schema_migrations WHERE version = ANY ($1::text[]))
     DELETE FROM migration_guard.migrations WHERE version = ANY ($1::text[])`, [versions]);
}
/** Opens a run's row; every text is scrubbed as it is written (a row outlives the job's log masking). */
async function startRunRecord(client, scrubber, start) {
    const run = scrubber.scrubValue(start);
    const { rows } = await client.query(`WITH session AS (SELECT coalesce($9::int, pg_backend_pid()) AS pid)
     INSERT INTO migration_guard.runs (command, environment, transaction_mode, actor, run_url, repository, ref, sha,
                                       session_pid, session_started)
     SELECT $1, $2, $3, $4, $5, $6, $7, $8, session.pid,
            (SELECT backend_start FROM pg_stat_activity WHERE pid = session.pid)
       FROM session RETURNING id`, [
        run.command,
        run.environment,
        run.transactionMode ?? null,
        run.actor ?? null,
        run.runUrl ?? null,
        run.repository ?? null,
        run.ref ?? null,
        run.sha ?? null,
        run.sessionPid ?? null,
    ]);
    return Number(rows[0].id);
}
/**
 * Closes a run's row; false when there is no such row (it was rolled back with a failed
 * transaction). The error and details are scrubbed, then cut, as they are written: a server error
 * can quote the password (say, a migration casting a string that holds it).
 */
async function finishRunRecord(client, scrubber, id, closing) {
    const outcome = outbound(closing, scrubber);
    const { rowCount } = await client.query(`UPDATE migration_guard.runs SET status = $2, applied = $3, error = $4, details = $5,
            finished_at = clock_timestamp() WHERE id = $1`, [
        id,
        outcome.status,
        outcome.applied,
        outcome.error ?? null,
        outcome.details ? JSON.stringify(outcome.details) : null,
    ]);
    return (rowCount ?? 0) > 0;
}
/** Adds keys to a run's details after it closed (what was found out once its result was built). */
async function noteOnRunRecord(client, id, details) {
    await client.query(`UPDATE migration_guard.runs SET details = coalesce(details, '{}'::jsonb) || $2::jsonb WHERE id = $1`, [id, JSON.stringify(details)]);
}

;// CONCATENATED MODULE: ./src/audit/schema.ts

/**
 * `migration_guard.audit_log`: append-only in the database itself. Triggers refuse UPDATE,
 * DELETE and TRUNCATE for everyone, the owner included, and are enabled ALWAYS so that
 * `session_replication_role = replica` does not silence them; the owner also gives up its own
 * UPDATE, DELETE and TRUNCATE privileges. What remains possible (a superuser disabling the
 * trigger) is what the hash chain is for: `audit` finds the first row that no longer matches.
 */
const CREATE_AUDIT_LOG = [
    'CREATE SCHEMA IF NOT EXISTS migration_guard',
    `CREATE TABLE IF NOT EXISTS migration_guard.audit_log (
     id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
     at timestamptz NOT NULL,
     run_key text NOT NULL,
     run_id bigint,
     event text NOT NULL,
     environment text NOT NULL,
     command text NOT NULL,
     outcome text,
     version text,
     duration_ms bigint,
     actor text,
     triggering_actor text,
     event_name text,
     repository text,
     ref text,
     sha text,
     pr_number integer,
     run_url text,
     os_user text,
     host text,
     reason text,
     error text,
     details jsonb,
     prev_hash text NOT NULL,
     hash text NOT NULL UNIQUE
   )`,
    'CREATE INDEX IF NOT EXISTS audit_log_at ON migration_guard.audit_log (at)',
    `CREATE OR REPLACE FUNCTION migration_guard.audit_log_append_only() RETURNS trigger
     LANGUAGE plpgsql AS $$
   BEGIN
     RAISE EXCEPTION 'migration_guard.audit_log is append-only: % refused', TG_OP
       USING ERRCODE = 'insufficient_privilege',
             HINT = 'Audit rows are never changed or removed; add a new row instead.';
   END $$`,
    `DO $$ BEGIN
     IF NOT EXISTS (SELECT 1 FROM pg_trigger WHERE tgrelid = 'migration_guard.audit_log'::regclass
                                          AND tgname = 'audit_log_no_change') THEN
       CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON migration_guard.audit_log
         FOR EACH ROW EXECUTE FUNCTION migration_guard.audit_log_append_only();
       CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON migration_guard.audit_log
         FOR EACH STATEMENT EXECUTE FUNCTION migration_guard.audit_log_append_only();
     END IF;
   END $$`,
    'ALTER TABLE migration_guard.audit_log ENABLE ALWAYS TRIGGER audit_log_no_change',
    'ALTER TABLE migration_guard.audit_log ENABLE ALWAYS TRIGGER audit_log_no_truncate',
    'REVOKE ALL ON migration_guard.audit_log FROM PUBLIC',
    'REVOKE UPDATE, DELETE, TRUNCATE ON migration_guard.audit_log FROM CURRENT_USER',
];
/** Whether the audit log exists (read-only callers never create it). */
async function auditLogExists(client) {
    const { rows } = await client.query("SELECT to_regclass('migration_guard.audit_log') IS NOT NULL AS exists");
    return rows[0].exists;
}
/**
 * Creates the audit log when it is missing. One message, so the DDL is one implicit transaction
 * holding the lock that every writer of our schema takes: two runs creating it at once (or this
 * and the run record) would otherwise collide in the catalogue.
 */
async function ensureAuditLog(client) {
    if (await auditLogExists(client))
        return;
    await client.query(CREATE_AUDIT_LOG_SQL);
}
/**
 * The creation as SQL text, under the schema's DDL lock: the statements are IF NOT EXISTS, so it
 * may also run inside a writer's transaction that found the log missing (store.ts).
 */
const CREATE_AUDIT_LOG_SQL = [
    `SELECT pg_advisory_xact_lock(${GUARD_DDL_LOCK})`,
    ...CREATE_AUDIT_LOG,
].join(';\n');

;// CONCATENATED MODULE: ./src/audit/chain.ts

/** The previous hash of the first row. */
const GENESIS_HASH = '0'.repeat(64);
/** The fields in the order the hash covers them: changing this list breaks every existing chain. */
const HASHED_FIELDS = [
    'at',
    'runKey',
    'runId',
    'event',
    'environment',
    'command',
    'outcome',
    'version',
    'durationMs',
    'actor',
    'triggeringActor',
    'eventName',
    'repository',
    'ref',
    'sha',
    'prNumber',
    'runUrl',
    'osUser',
    'host',
    'reason',
    'error',
    'details',
];
/**
 * The canonical text of an event: a JSON array of its fields in fixed order, objects with sorted
 * keys (jsonb does not keep key order), absent values as null. The same event read back from the
 * database gives the same text.
 */
function canonicalEvent(event) {
    return JSON.stringify(HASHED_FIELDS.map((field) => sortKeys(event[field] ?? null)));
}
function sortKeys(value) {
    if (Array.isArray(value))
        return value.map(sortKeys);
    if (value && typeof value === 'object') {
        return Object.fromEntries(Object.keys(value)
            .sort()
            .filter((key) => value[key] !== undefined)
            .map((key) => [key, sortKeys(value[key])]));
    }
    return value;
}
/** sha256 over the previous row's hash and this row's canonical text. */
function chainHash(prevHash, event) {
    return (0,external_node_crypto_.createHash)('sha256')
        .update(`${prevHash}\n${canonicalEvent(event)}`)
        .digest('hex');
}
/** Links `events`, in order, after the row whose hash is `prevHash`. */
function chainEvents(prevHash, events) {
    const chained = [];
    let previous = prevHash;
    for (const event of events) {
        const hash = chainHash(previous, event);
        chained.push({ ...event, prevHash: previous, hash });
        previous = hash;
    }
    return chained;
}
/**
 * Checks rows in id order: each must name the previous row's hash and carry the hash of its own
 * content. Returns the first row that does not, with what no longer matches.
 */
function verifyChain(rows) {
    let previous = GENESIS_HASH;
    let previousId;
    for (const row of rows) {
        const at = { id: row.id, at: row.at, event: row.event };
        if (row.prevHash !== previous) {
            return {
                ...at,
                problem: previousId === undefined
                    ? 'the first row does not start the chain: rows before it were removed'
                    : `it does not follow row ${previousId}: rows between them were removed, or row ${previousId} was changed and its hash recomputed`,
            };
        }
        const expected = chainHash(previous, row);
        if (row.hash !== expected) {
            return {
                ...at,
                problem: 'its content no longer matches its hash: the row was changed after it was written',
            };
        }
        previous = row.hash;
        previousId = row.id;
    }
    return undefined;
}

;// CONCATENATED MODULE: ./src/audit/store.ts


/**
 * Serialises writers of the chain (a different number from the migration lock, "mgaudt"): each
 * batch reads the newest hash and appends after it while holding this transaction-level lock, so
 * two runs writing at once still make one chain.
 */
const AUDIT_CHAIN_LOCK = 0x6d6761756474;
const COLUMNS = [
    'at',
    'run_key',
    'run_id',
    'event',
    'environment',
    'command',
    'outcome',
    'version',
    'duration_ms',
    'actor',
    'triggering_actor',
    'event_name',
    'repository',
    'ref',
    'sha',
    'pr_number',
    'run_url',
    'os_user',
    'host',
    'reason',
    'error',
    'details',
    'prev_hash',
    'hash',
];
/**
 * Rows go in as one jsonb array (in chain order), not as a VALUES list of 24 parameters a row: the
 * server parses a short statement instead of one with thousands of placeholders (~27 ms for a
 * 500-file run), and no run is too long for the protocol's 65,535-parameter limit. Each element
 * becomes a row of the table's own type, so every value is converted exactly as an INSERT would
 * convert it; ORDINALITY keeps the chain order, which the ids (and so the verification) follow.
 */
const INSERT_ROWS = `INSERT INTO migration_guard.audit_log (${COLUMNS.join(', ')})
  SELECT ${COLUMNS.map((c) => `r.${c}`).join(', ')}
    FROM jsonb_array_elements($1::jsonb) WITH ORDINALITY AS e(row, n),
         jsonb_populate_record(NULL::migration_guard.audit_log, e.row) AS r
   ORDER BY e.n`;
/**
 * Appends events, in order, to the chain, in one transaction of three round trips whatever their
 * number (a run waits for this when it ends: every round trip counts on a busy runner):
 * BEGIN with the chain lock and the newest hash; the rows; COMMIT.
 * With `create`, the first message also creates the log (IF NOT EXISTS), so a first run pays no
 * separate transaction for it.
 */
async function appendAuditEvents(client, events, options = {}) {
    if (events.length === 0)
        return [];
    return appendDecidedEvents(client, async () => events, options);
}
/**
 * Like appendAuditEvents, with the events decided by `decide` while the chain lock is held: a
 * check of the log and the row that records its result commit together, so two writers cannot
 * both pass a check the first one's row would have failed (the manual-run rate limit, where two
 * runs dispatched at once must not both pass). `decide` may read the log; none to write: nothing is.
 */
async function appendDecidedEvents(client, decide, options = {}) {
    try {
        // The read must take its snapshot after the lock is granted (a later statement of the same
        // message does), or it could miss the row the previous holder just committed.
        const replies = (await client.query([
            'BEGIN',
            ...(options.create ? [CREATE_AUDIT_LOG_SQL] : []),
            `SELECT pg_advisory_xact_lock(${AUDIT_CHAIN_LOCK})`,
            'SELECT hash FROM migration_guard.audit_log ORDER BY id DESC LIMIT 1',
        ].join(';\n')));
        const newest = replies[replies.length - 1].rows[0]?.hash;
        const events = await decide(client);
        if (events.length === 0) {
            await client.query('ROLLBACK');
            return [];
        }
        const chained = chainEvents(newest ?? GENESIS_HASH, events.map(wellFormed));
        await client.query(INSERT_ROWS, [JSON.stringify(chained.map(toRow))]);
        await client.query('COMMIT');
        return chained;
    }
    catch (error) {
        // The connection may be gone; the server then rolls back by itself.
        await client.query('ROLLBACK').catch(() => { });
        throw error;
    }
}
/**
 * The event with every string well-formed: a string cut between the two halves of a surrogate
 * pair (an emoji in a cut error message) holds a lone half, which jsonb refuses and UTF-8 cannot
 * carry. It becomes U+FFFD before it is hashed, so the row stored is the row hashed.
 */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;
function wellFormed(value) {
    if (typeof value === 'string')
        return value.replace(LONE_SURROGATE, '\uFFFD');
    if (Array.isArray(value))
        return value.map(wellFormed);
    if (value && typeof value === 'object')
        return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, wellFormed(v)]));
    return value;
}
/** An event as a row of the table, keyed by column name. */
function toRow(e) {
    return {
        at: e.at,
        run_key: e.runKey,
        run_id: e.runId,
        event: e.event,
        environment: e.environment,
        command: e.command,
        outcome: e.outcome,
        version: e.version,
        duration_ms: e.durationMs,
        actor: e.actor,
        triggering_actor: e.triggeringActor,
        event_name: e.eventName,
        repository: e.repository,
        ref: e.ref,
        sha: e.sha,
        pr_number: e.prNumber,
        run_url: e.runUrl,
        os_user: e.osUser,
        host: e.host,
        reason: e.reason,
        error: e.error,
        details: e.details,
        prev_hash: e.prevHash,
        hash: e.hash,
    };
}
/** Every row in chain order (verification needs them all; exports filter by time afterwards). */
async function readAuditLog(client) {
    const { rows } = await client.query(`SELECT id, to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS at_text, run_key, run_id,
            event, environment, command, outcome, version, duration_ms, actor, triggering_actor,
            event_name, repository, ref, sha, pr_number, run_url, os_user, host, reason, error,
            details, prev_hash, hash
       FROM migration_guard.audit_log ORDER BY id`);
    return rows.map((r) => ({
        id: Number(r.id),
        at: r.at_text,
        runKey: r.run_key,
        runId: r.run_id === null ? null : Number(r.run_id),
        event: r.event,
        environment: r.environment,
        command: r.command,
        outcome: r.outcome,
        version: r.version,
        durationMs: r.duration_ms === null ? null : Number(r.duration_ms),
        actor: r.actor,
        triggeringActor: r.triggering_actor,
        eventName: r.event_name,
        repository: r.repository,
        ref: r.ref,
        sha: r.sha,
        prNumber: r.pr_number,
        runUrl: r.run_url,
        osUser: r.os_user,
        host: r.host,
        reason: r.reason,
        error: r.error,
        details: r.details,
        prevHash: r.prev_hash,
        hash: r.hash,
    }));
}

;// CONCATENATED MODULE: ./src/audit/recorder.ts








/**
 * Writes one run's audit rows on a connection of its own, so they commit whatever happens to
 * the migration transaction. It listens to the run's stage events: "run started" goes out as soon
 * as that connection is up, and each committed file, backup and lock retry is written as its
 * event comes (in batches: one write in flight at a time, the rows that come meanwhile go in the
 * next), beside the run, never waiting for it. When the run is over, the rest (failures,
 * rollbacks, the run's end) is one batch from the result, leaving out what was already written.
 *
 * The log is created only by a run that itself left a trace in the database (a run record,
 * applied versions): a run refused before it touched anything on a fresh database, or a backup
 * (which writes nothing there), leaves nothing, as before; once the log exists, they are
 * recorded. Writing the audit log never fails a run: a problem is a warning.
 */
class AuditRecorder {
    ctx;
    options;
    identity;
    startedAt;
    client;
    /** Settles once the connection is up and "run started" was written if the log existed. */
    opened;
    /** Whether the log is known to exist (it did when the run connected, or this run created it). */
    logExists = false;
    /** Whether "run started" is in the log; if not, it goes first in the next write. */
    startWritten = false;
    /** Rows from stage events not written yet, and the facts already written (events.ts `factKey`). */
    queued = [];
    written = new Set();
    /** The live write in flight; once one fails, the rest waits for the end of the run. */
    writing;
    live = true;
    /** A file committed: the run has left a trace, and the log may be created for it. */
    traced = false;
    constructor(ctx, options, startedAt = new Date()) {
        this.ctx = ctx;
        this.options = options;
        this.startedAt = startedAt.toISOString();
        const local = ctx.run.runUrl ? undefined : localIdentity();
        this.identity = runIdentity(ctx, (0,external_node_crypto_.randomUUID)(), local);
    }
    /** Connects and writes "run started" when the log exists; returns at once. Once per run. */
    start() {
        if (this.client)
            return;
        const { settings, run } = this.ctx;
        this.client = connect(settings.database, {
            applicationName: `${applicationName(settings.command, settings.environment, run)} audit`,
        });
        // Never rejects: a connection that failed is reported by finish(), a check that failed
        // means "create it if need be" (IF NOT EXISTS) with the first rows.
        this.opened = this.client.then(async (client) => {
            this.logExists = await auditLogExists(client).catch(() => false);
            if (this.logExists)
                await this.write(client, []).catch(() => { }); // else with the next rows
        }, () => { });
    }
    /** The stage events the log records as they happen (the rest comes from the result). */
    listener = (event) => {
        const at = new Date().toISOString();
        if (event.type === 'backup-taken')
            this.queued.push(backupEvent(this.identity, at, null, event.backup));
        else if (event.type === 'lock-retry')
            this.queued.push(lockRetryEvent(this.identity, at, null, event));
        else if (event.type === 'file-applied' && event.committed) {
            this.traced = true;
            this.queued.push(appliedEvent(this.identity, at, event.runId ?? null, event));
        }
        else
            return;
        // Rows before the first commit wait for it (or the end): a run refused later leaves no log.
        if (this.traced && this.live)
            this.writing ??= this.writeLive();
    };
    /** Writes what is queued, batch after batch, until the queue is empty or a write fails. */
    async writeLive() {
        try {
            const client = await this.client;
            await this.opened;
            while (client && this.live && this.queued.length > 0) {
                const batch = this.queued.splice(0);
                await this.write(client, batch).catch(() => {
                    this.live = false; // the end of the run tries again, with the rest
                    this.queued.unshift(...batch);
                });
            }
        }
        catch {
            // no connection: finish() says so
        }
        finally {
            this.writing = undefined;
        }
    }
    /**
     * Appends `events` (after "run started" when that is not in yet), creating the log in the same
     * transaction when it did not exist; should that fail (it appeared meanwhile, owned by another
     * role), the log is checked for first, as elsewhere. Scrubbed as one value: one search of its
     * JSON text settles that it holds no secret.
     */
    async write(client, events) {
        const all = this.startWritten ? events : [startedEvent(this.identity, this.startedAt), ...events];
        if (all.length === 0)
            return 0;
        const rows = this.options.scrubValue(all);
        await appendAuditEvents(client, rows, { create: !this.logExists }).catch(async (error) => {
            if (this.logExists)
                throw error;
            await ensureAuditLog(client);
            await appendAuditEvents(client, rows);
        });
        this.logExists = true;
        this.startWritten = true;
        for (const row of events)
            this.written.add(factKey(row));
        return rows.length;
    }
    /**
     * This run's "run started" row, scrubbed, for the manual-run guard: it writes it itself, in the
     * transaction that checks the rate limit (guard/manual-run.ts), then calls markStarted().
     */
    startedRow() {
        return this.options.scrubValue(startedEvent(this.identity, this.startedAt));
    }
    /** "Run started" is on record (so the log exists): not written again; the run's end is written in any case. */
    markStarted() {
        this.startWritten = true;
        this.logExists = true;
    }
    /** Writes the rest of the run's rows and closes the connection. Never throws. */
    async finish(result) {
        const { logger } = this.ctx;
        let client;
        const began = Date.now();
        try {
            // A run that never reached the database changed nothing there, and has nowhere to write;
            // unless its start is on record already (a manual run): then its end is written too.
            if (!this.client && this.startWritten)
                this.start();
            if (!this.client)
                return;
            client = await this.client;
            await this.opened;
            await this.writing;
            const leftATrace = result.runId !== undefined || result.applied.length > 0;
            if (!this.logExists && !leftATrace && !(await auditLogExists(client)))
                return;
            // This is the part of the audit log a run waits for: three round trips (store.ts). What
            // the result says, less what was written as it happened; rows a failed live write left
            // queued go first (they happened first).
            const rest = [
                ...this.queued.splice(0),
                ...eventsOfResult(this.identity, result).filter((e) => !this.written.has(factKey(e))),
            ];
            const count = await this.write(client, rest);
            logger.debug(`Audit log: ${count} rows written in ${Date.now() - began} ms after the run ` +
                `(${this.written.size - rest.length} while it ran)`);
        }
        catch (error) {
            logger.warn(`Could not write the audit log (migration_guard.audit_log): ${errorMessage(error)}`);
        }
        finally {
            await client?.end().catch(() => { });
        }
    }
}
function localIdentity() {
    let osUser = 'unknown';
    try {
        osUser = (0,external_node_os_namespaceObject.userInfo)().username;
    }
    catch {
        // no passwd entry (some containers)
    }
    return { osUser, host: (0,external_node_os_namespaceObject.hostname)() };
}

;// CONCATENATED MODULE: ./src/engine/events.ts
/**
 * Hands each event to every listener. A listener never delays or fails the run: it is called
 * without being awaited, and what it throws or rejects with is logged once by `onListenerError`.
 * `settled()` waits for the listeners' pending work (for the entry point, before it exits).
 */
class StageEvents {
    onListenerError;
    prepare;
    listeners = [];
    pending = new Set();
    /**
     * `prepare` turns each event into what listeners see, once for all of them (runCommand scrubs
     * it there, so no listener can forget to).
     */
    constructor(onListenerError = () => { }, prepare = (event) => event) {
        this.onListenerError = onListenerError;
        this.prepare = prepare;
    }
    on(listener) {
        this.listeners.push(listener);
        return this;
    }
    emit(raw) {
        if (this.listeners.length === 0)
            return;
        let event;
        try {
            event = this.prepare(raw);
        }
        catch (error) {
            this.onListenerError(error);
            return;
        }
        for (const listener of this.listeners) {
            let outcome;
            try {
                outcome = listener(event);
            }
            catch (error) {
                this.onListenerError(error);
                continue;
            }
            if (outcome instanceof Promise) {
                const tracked = outcome
                    .catch(this.onListenerError)
                    .finally(() => this.pending.delete(tracked));
                this.pending.add(tracked);
            }
        }
    }
    /** Resolves when every listener's work started so far has finished (never rejects). */
    async settled() {
        while (this.pending.size > 0)
            await Promise.allSettled([...this.pending]);
    }
}

;// CONCATENATED MODULE: ./src/logger.ts
const silentLogger = {
    info: () => { },
    warn: () => { },
    error: () => { },
    debug: () => { },
    group: (_title, fn) => fn(),
};
/** Wraps a logger so every message passes through `scrub` first. */
function scrubbingLogger(inner, scrub) {
    return {
        info: (m) => inner.info(scrub(m)),
        warn: (m) => inner.warn(scrub(m)),
        error: (m) => inner.error(scrub(m)),
        debug: (m) => inner.debug(scrub(m)),
        group: (title, fn) => inner.group(scrub(title), fn),
    };
}

;// CONCATENATED MODULE: ./src/report/markdown.ts
/**
 * Markdown building blocks shared by the renderers: escaping, clipping, folding long lists into
 * `<details>`, and keeping a document under a size limit. Pure functions over strings.
 */
/** Escapes the characters that would let report text inject HTML into GitHub's Markdown. */
function markdown_escapeMd(text) {
    return text.replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
/** One table cell: escaped, its pipes escaped and its line breaks kept as <br>, so a row keeps its cells. */
function markdown_escapeCell(text) {
    return markdown_escapeMd(text).replace(/\|/g, '\\|').replace(/\r?\n/g, '<br>');
}
/** `text` cut to `max` characters with an ellipsis (before escaping, so no entity is cut in two). */
function markdown_clip(text, max) {
    return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}
function bytes(text) {
    return Buffer.byteLength(text, 'utf8');
}
/**
 * Lines for a long list (table rows after `header`, or list lines): open when short, folded into
 * `<details>` when long, and cut to `maxItems` (in their order, the kept ones first in priority,
 * a gap line where items were left out) with a note saying what is missing and where it is.
 */
function markdown_foldList(items, render, header, options) {
    const chosen = chooseItems(items, options.maxItems, options.keep);
    const body = [];
    let previous = -1;
    for (const index of chosen) {
        if (index > previous + 1)
            body.push(options.gap(index - previous - 1, items.slice(previous + 1, index)));
        body.push(render(items[index]));
        previous = index;
    }
    if (previous < items.length - 1)
        body.push(options.gap(items.length - previous - 1, items.slice(previous + 1)));
    const lines = [...header, ...body];
    if (chosen.length < items.length)
        lines.push('', options.cutNote(chosen.length, items.length));
    if (items.length <= options.foldAbove)
        return lines;
    // A blank line after <summary> and before </details>: GitHub renders the Markdown inside then.
    return [`<details><summary>${options.summary}</summary>`, '', ...lines, '', '</details>'];
}
/**
 * The indexes of the items to list, in order: every kept one (up to `max`), then their neighbours
 * (what ran just before a failure), then the first others.
 */
function chooseItems(items, max, keep) {
    if (items.length <= max)
        return items.map((_, i) => i);
    const kept = keep ? items.flatMap((item, i) => (keep(item) ? [i] : [])) : [];
    const chosen = new Set();
    const add = (i) => {
        if (i >= 0 && i < items.length && chosen.size < max)
            chosen.add(i);
    };
    for (const i of kept)
        add(i);
    for (let d = 1; d <= CONTEXT; d++)
        for (const i of kept)
            [i - d, i + d].forEach(add);
    for (let i = 0; i < items.length; i++)
        add(i);
    return [...chosen].sort((a, b) => a - b);
}
/** Items listed on each side of a kept one when a list is cut. */
const CONTEXT = 3;
/** "3 applied, 1 failed": how many items fall in each group, in the order groups first appear. */
function markdown_countsBy(items, group) {
    const counts = new Map();
    for (const item of items)
        counts.set(group(item), (counts.get(group(item)) ?? 0) + 1);
    return [...counts].map(([name, n]) => `${n} ${name}`).join(', ');
}
/**
 * `markdown` cut at a line boundary so that it and `note` fit in `limit` bytes, with any open code
 * fence and `<details>` closed, so what is left still renders. Unchanged when it fits.
 */
function markdown_fitToSize(markdown, limit, note) {
    if (bytes(markdown) <= limit)
        return markdown;
    // Room for the note and the closing tags; the note itself is short.
    const room = limit - bytes(note(limit)) - 64;
    let cut = Buffer.from(markdown, 'utf8').subarray(0, Math.max(0, room)).toString('utf8');
    if (cut.endsWith('\uFFFD'))
        cut = cut.slice(0, -1); // a character split by the byte cut
    const lastLine = cut.lastIndexOf('\n');
    cut = lastLine >= 0 ? cut.slice(0, lastLine + 1) : '';
    const closing = [];
    if ((cut.match(/^```/gm) ?? []).length % 2 === 1)
        closing.push('```');
    const open = (cut.match(/<details>/g) ?? []).length - (cut.match(/<\/details>/g) ?? []).length;
    for (let i = 0; i < open; i++)
        closing.push('', '</details>');
    return `${cut}${closing.length ? `${closing.join('\n')}\n` : ''}\n${note(bytes(cut))}\n`;
}
/** Text inside a fenced code block: a run of backticks could close the fence early. */
function escapeFenced(text) {
    return text.replace(/```/g, '`\u200b``');
}
function formatBytes(bytes) {
    if (bytes < 1024)
        return `${bytes} B`;
    if (bytes < 1024 ** 2)
        return `${(bytes / 1024).toFixed(1)} KiB`;
    if (bytes < 1024 ** 3)
        return `${(bytes / 1024 ** 2).toFixed(1)} MiB`;
    return `${(bytes / 1024 ** 3).toFixed(2)} GiB`;
}
function formatSeconds(ms) {
    return `${(ms / 1000).toFixed(2)} s`;
}
/** `file:line:column: ` (as much of it as is known), or '' when the error has no place. */
function errorPlace(error) {
    if (!error.file)
        return error.line ? `line ${error.line}: ` : '';
    return `${error.file}${error.line ? `:${error.line}` : ''}${error.line && error.column ? `:${error.column}` : ''}: `;
}

;// CONCATENATED MODULE: ./src/report/console-log.ts

/**
 * The console log's view of a stage event (pure): the progress lines a run prints as it goes, the
 * same in the action's log, the CLI's stderr and the demo. Plain lines, never warnings or errors:
 * in the action those become annotations, and annotations have their own renderer
 * (annotations.ts). What the engine already says where it happens (connecting, the backup being
 * taken, each lock retry with its blocker) is not repeated; the run's last word is the command's
 * own message.
 */
function consoleLines(event) {
    switch (event.type) {
        case 'backup-taken':
            return [`Backup ready: ${event.backup.path} (${formatBytes(event.backup.sizeBytes)})`];
        case 'rehearsal-done':
            if (!event.ran)
                return [];
            return [event.failed ? 'Rehearsal failed: nothing was applied' : 'Rehearsal passed (rolled back)'];
        case 'file-applied':
            return [
                `Applied ${event.index}/${event.total}: ${event.file ?? event.version} (${event.durationMs} ms)`,
            ];
        case 'file-failed': {
            const { file, line, message } = event.error;
            const where = file ? `${file}${line ? `:${line}` : ''}` : event.version;
            return [`Failed: ${where}: ${firstLine(message)}`];
        }
        case 'rolled-back': {
            if (event.versions.length === 0)
                return [];
            const how = event.how === 'transaction' ? 'with the failed transaction' : 'by their down migrations';
            const what = event.succeeded ? 'Rolled back' : 'Could not roll back';
            return [`${what} ${how}: ${event.versions.join(', ')}`];
        }
        case 'cancelled':
            return [`Cancelled: ${firstLine(event.reason)}`];
        // The engine says these in its own words (how many, in which units; each retry's blocker).
        case 'run-started':
        case 'lock-retry':
        case 'run-finished':
            return [];
    }
}
function firstLine(text) {
    return text.split('\n', 1)[0];
}
/** The console log as a listener of the run's events. */
function consoleLogListener(logger) {
    return (event) => {
        for (const line of consoleLines(event))
            logger.info(line);
    };
}

;// CONCATENATED MODULE: ./src/audit/manual-runs.ts

/**
 * The start times of this environment's recent manual runs of `commands`, newest first, at most
 * `limit`: what the rate limit counts. Read from the audit log's "run started" rows, so the count
 * holds across runners, re-runs and workflows; a database without a log has none.
 */
async function recentManualRuns(client, query) {
    if (!(await auditLogExists(client)))
        return [];
    const { rows } = await client.query(`SELECT at FROM migration_guard.audit_log
      WHERE event = 'run-started' AND environment = $1 AND command = ANY($2::text[])
        AND event_name = ANY($3::text[]) AND at > $4
      ORDER BY at DESC LIMIT $5`, [query.environment, query.commands, query.events, query.since, query.limit]);
    return rows.map((r) => new Date(r.at));
}

;// CONCATENATED MODULE: ./src/guard/policy.ts
/** The events a person starts by hand: the runs the guard checks. */
const MANUAL_EVENTS = new Set(['workflow_dispatch', 'repository_dispatch']);
/** Commands that need a `reason` on a manual run (rollback covers `strategy: restore`). */
const REASON_REQUIRED = new Set(['apply', 'rollback']);
/** Commands counted by, and held to, the rate limit. */
const RATE_LIMITED = new Set(['apply', 'rollback']);
/** The role compared with `allowed-roles`: the role name when GitHub gives one, else the permission. */
function effectiveRole(permission) {
    return (permission.roleName || permission.permission || 'none').toLowerCase();
}
/**
 * When the next run is allowed, or undefined when one is allowed now. `recent` are the start
 * times of the manual runs inside the window, newest first: with `count` of them, the run must
 * wait until the count-th newest leaves the window.
 */
function nextAllowedAt(recent, limit, now) {
    if (recent.length < limit.count)
        return undefined;
    const leaving = recent[limit.count - 1];
    const at = new Date(leaving.getTime() + limit.windowMs);
    return at > now ? at : undefined;
}
/** The message and hint of a refusal: who, which role they have, which are allowed, or when to retry. */
function describeRefusal(f) {
    const who = `${f.actor} (${f.event})`;
    const allowed = f.allowedRoles.join(', ');
    switch (f.rule) {
        case 'role':
            return {
                message: `Manual ${f.command} of ${f.environment} refused: ${who} has the repository role "${f.role}"; allowed-roles is ${allowed}.`,
                hint: `Ask someone with one of the roles ${allowed} to start the run, or change allowed-roles in the workflow. Nothing was run.`,
            };
        case 'permission-unknown':
            return {
                message: `Manual ${f.command} of ${f.environment} refused: the repository permission of ${who} could not be read from GitHub (${f.problem}). Manual runs are refused when it cannot be checked.`,
                hint: `Make sure github-token is set (the default \${{ github.token }} can read it) and GitHub's API is reachable, then start the run again. Nothing was run.`,
            };
        case 'reason':
            return {
                message: `Manual ${f.command} of ${f.environment} refused: ${who} gave no reason; a manual ${f.command} needs one (it is recorded in the audit log).`,
                hint: 'Start the run again with the reason input filled in (e.g. "hotfix for incident 123"). Nothing was run.',
            };
        case 'rate-limit':
            return {
                message: `Manual ${f.command} of ${f.environment} refused: rate-limit ${f.rateLimit} reached (${f.recentRuns} manual apply/rollback run(s) of ${f.environment} in the window). The next one is allowed from ${f.nextAllowedAt}.`,
                hint: `Wait until ${f.nextAllowedAt} and start the run again, or change rate-limit in the workflow. Nothing was run.`,
            };
    }
}

;// CONCATENATED MODULE: ./src/guard/manual-run.ts










/** How long recording a refusal may wait for the database: the refusal itself never waits on it. */
const RECORD_CONNECT_TIMEOUT_MS = 10_000;
/**
 * The manual-run guard, before any migration work: for a workflow_dispatch or repository_dispatch
 * run, the person who triggered it must hold one of `allowed-roles` (read from GitHub; an answer
 * that cannot be had refuses), give a `reason` for an apply or rollback, and stay within
 * `rate-limit` (counted from the audit log). Returns the refusal, already recorded in the audit
 * log where the database allowed it, or undefined when the run may go on. Other events return at
 * once, without a call to GitHub.
 *
 * The rate limit is checked, and the outcome written, in one transaction under the audit chain's
 * lock: a refusal, or (given `start`) the run's own "run started" row. Two runs dispatched at the
 * same moment are so counted one after the other, and the second is refused.
 */
async function guardManualRun(ctx, readPermission, start) {
    const { settings, run, logger } = ctx;
    const event = run.eventName ?? '';
    if (!MANUAL_EVENTS.has(event))
        return undefined;
    // A re-run is triggered by whoever re-ran it: that is the person whose role counts.
    const actor = run.triggeringActor || run.actor;
    const facts = (rule, more = {}) => ({
        rule,
        actor,
        event,
        allowedRoles: settings.allowedRoles,
        reason: settings.reason,
        ...more,
    });
    let role;
    try {
        role = effectiveRole(await readPermission(actor));
    }
    catch (error) {
        return recordRefusal(ctx, describe(ctx, facts('permission-unknown', { problem: errorMessage(error) })));
    }
    if (!settings.allowedRoles.includes(role))
        return recordRefusal(ctx, describe(ctx, facts('role', { role })));
    if (REASON_REQUIRED.has(settings.command) && !settings.reason)
        return recordRefusal(ctx, describe(ctx, facts('reason', { role })));
    const limit = settings.rateLimit;
    if (limit && RATE_LIMITED.has(settings.command)) {
        // A database that cannot be read (or written) here fails the run as any run fails on it:
        // nothing is run.
        const refusal = await withClient(settings.database, { applicationName: appName(ctx) }, async (client) => {
            let refused;
            const written = await appendDecidedEvents(client, async (locked) => {
                const now = new Date();
                const recent = await recentManualRuns(locked, {
                    environment: settings.environment,
                    commands: [...RATE_LIMITED],
                    events: [...MANUAL_EVENTS],
                    since: new Date(now.getTime() - limit.windowMs),
                    limit: limit.count,
                });
                const next = nextAllowedAt(recent, limit, now);
                if (!next)
                    return start ? [start.startedRow()] : [];
                refused = describe(ctx, facts('rate-limit', {
                    role,
                    rateLimit: limit.text,
                    nextAllowedAt: next.toISOString(),
                    recentRuns: recent.length,
                }));
                return [refusalRow(ctx, refused)];
            }, { create: !(await auditLogExists(client)) });
            if (refused)
                refused.recorded = written.length > 0;
            else if (written.length > 0)
                start?.markStarted();
            return refused;
        });
        if (refusal)
            return refusal;
    }
    logger.info(`Manual ${settings.command} by ${actor} (role ${role}, ${event}) allowed${settings.reason ? `; reason: ${settings.reason}` : ''}`);
    return undefined;
}
/** The refusal with its message and hint; not recorded yet. */
function describe(ctx, facts) {
    const { message, hint } = describeRefusal({
        ...facts,
        command: ctx.settings.command,
        environment: ctx.settings.environment,
    });
    // `problem` (what GitHub answered) is in the message; the refusal keeps only its own fields.
    const own = { ...facts };
    delete own.problem;
    return { ...own, message, hint, recorded: false };
}
/** The refusal's audit row, scrubbed: the run's identity (actor, event, reason), the rule and the role. */
function refusalRow(ctx, refusal) {
    return outbound(refusedEvent(runIdentity(ctx, (0,external_node_crypto_.randomUUID)(), undefined), new Date().toISOString(), refusal), ctx.scrubber);
}
/**
 * Writes the refusal to the audit log on a connection of its own (its only write: the log is
 * created if it is missing, so a refusal on a fresh database is kept too) and returns it. A
 * database that cannot be reached does not lift the refusal: it is reported with a warning that
 * it could not be recorded.
 */
async function recordRefusal(ctx, refusal) {
    const { settings, logger } = ctx;
    const row = refusalRow(ctx, refusal);
    try {
        await withClient(settings.database, { applicationName: appName(ctx), connectTimeoutMs: RECORD_CONNECT_TIMEOUT_MS }, async (client) => {
            await appendAuditEvents(client, [row], { create: !(await auditLogExists(client)) });
        });
        refusal.recorded = true;
    }
    catch (error) {
        logger.warn(`The refusal could not be recorded in the audit log (migration_guard.audit_log): ${errorMessage(error)}. It stands all the same: nothing was run.`);
    }
    return refusal;
}
function appName(ctx) {
    return `${applicationName(ctx.settings.command, ctx.settings.environment, ctx.run)} guard`;
}

;// CONCATENATED MODULE: ./src/db/fingerprint.ts
/**
 * A digest of the user-visible schema (our own bookkeeping schemas excluded), so a report can show
 * that a rolled-back run left the schema exactly as it found it.
 */
const FINGERPRINT_SQL = `
WITH user_ns AS (
  SELECT oid, nspname FROM pg_namespace
   WHERE nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast', 'supabase_migrations', 'migration_guard')
     AND nspname NOT LIKE 'pg_temp_%' AND nspname NOT LIKE 'pg_toast_temp_%'
), parts AS (
  SELECT 'n:' || nspname AS item FROM user_ns
  UNION ALL
  SELECT 'r:' || n.nspname || '.' || c.relname || ':' || c.relkind::text || ':' || coalesce(c.relrowsecurity::text, '')
    FROM pg_class c JOIN user_ns n ON n.oid = c.relnamespace
  UNION ALL
  SELECT 'a:' || n.nspname || '.' || c.relname || '.' || a.attname || ':' || format_type(a.atttypid, a.atttypmod)
         || ':' || a.attnotnull || ':' || coalesce(pg_get_expr(d.adbin, d.adrelid), '')
    FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN user_ns n ON n.oid = c.relnamespace
    LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
   WHERE a.attnum > 0 AND NOT a.attisdropped
  UNION ALL
  SELECT 'c:' || n.nspname || '.' || con.conname || ':' || pg_get_constraintdef(con.oid)
    FROM pg_constraint con JOIN user_ns n ON n.oid = con.connamespace
  UNION ALL
  SELECT 'i:' || pg_get_indexdef(i.indexrelid) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN user_ns n ON n.oid = c.relnamespace
  UNION ALL
  SELECT 'f:' || n.nspname || '.' || p.proname || '(' || pg_get_function_identity_arguments(p.oid) || '):' || md5(coalesce(p.prosrc, ''))
    FROM pg_proc p JOIN user_ns n ON n.oid = p.pronamespace
  UNION ALL
  SELECT 't:' || n.nspname || '.' || t.typname || ':' || t.typtype::text FROM pg_type t JOIN user_ns n ON n.oid = t.typnamespace
  UNION ALL
  SELECT 'e:' || t.typname || ':' || e.enumlabel || ':' || e.enumsortorder
    FROM pg_enum e JOIN pg_type t ON t.oid = e.enumtypid JOIN user_ns n ON n.oid = t.typnamespace
  UNION ALL
  SELECT 'v:' || n.nspname || '.' || c.relname || ':' || pg_get_viewdef(c.oid)
    FROM pg_class c JOIN user_ns n ON n.oid = c.relnamespace WHERE c.relkind IN ('v', 'm')
  UNION ALL
  SELECT 'p:' || pol.polname || ':' || pol.polrelid::regclass::text || ':' || coalesce(pg_get_expr(pol.polqual, pol.polrelid), '')
    FROM pg_policy pol JOIN pg_class c ON c.oid = pol.polrelid JOIN user_ns n ON n.oid = c.relnamespace
  UNION ALL
  SELECT 'g:' || tg.tgname || ':' || pg_get_triggerdef(tg.oid)
    FROM pg_trigger tg JOIN pg_class c ON c.oid = tg.tgrelid JOIN user_ns n ON n.oid = c.relnamespace
   WHERE NOT tg.tgisinternal
  UNION ALL
  SELECT 'x:' || extname || ':' || extversion FROM pg_extension
)
SELECT md5(coalesce(string_agg(item, E'\\n' ORDER BY item), '')) AS fingerprint FROM parts`;
async function schemaFingerprint(client) {
    const { rows } = await client.query(FINGERPRINT_SQL);
    return rows[0].fingerprint;
}

;// CONCATENATED MODULE: ./src/db/partial-store.ts
/**
 * Files that a failed run left partly applied: some of their statements committed (a statement
 * that cannot run in a transaction, and what came before it) but the file has no history row.
 * The Supabase history keeps the CLI's exact shape, so this lives in our own schema: one row per
 * such file, naming the statements that committed, so `status` can show it and the next `apply`
 * can resume the file after them (when the file is unchanged) instead of failing on "already
 * exists". The row goes once the file is applied. Created on first use, beside the run records.
 */
const CREATE_PARTIAL_TABLE = [
    'CREATE SCHEMA IF NOT EXISTS migration_guard',
    `CREATE TABLE IF NOT EXISTS migration_guard.partial_migrations (
     version text PRIMARY KEY,
     name text NOT NULL,
     checksum text NOT NULL,
     statements_total integer NOT NULL,
     statements_done integer NOT NULL,
     statements text[] NOT NULL,
     outside_transaction jsonb NOT NULL DEFAULT '[]',
     run_id bigint,
     recorded_at timestamptz NOT NULL DEFAULT clock_timestamp()
   )`,
];
async function readPartialMigrations(client) {
    const { rows } = await client.query("SELECT to_regclass('migration_guard.partial_migrations') IS NOT NULL AS exists");
    if (!rows[0].exists)
        return new Map();
    const result = await client.query(`SELECT version, name, checksum, statements_total, statements_done, statements, outside_transaction,
            run_id, recorded_at FROM migration_guard.partial_migrations ORDER BY version`);
    return new Map(result.rows.map((r) => [
        r.version,
        {
            version: r.version,
            name: r.name,
            checksum: r.checksum,
            statementsTotal: r.statements_total,
            statementsDone: r.statements_done,
            statements: r.statements,
            outsideTransaction: r.outside_transaction,
            runId: r.run_id === null ? undefined : Number(r.run_id),
            recordedAt: r.recorded_at instanceof Date ? r.recorded_at.toISOString() : undefined,
        },
    ]));
}
/** Records (or updates, after a resumed file failed again) the partly applied files of a run. */
async function recordPartialMigrations(client, rows) {
    if (rows.length === 0)
        return;
    for (const sql of CREATE_PARTIAL_TABLE)
        await client.query(sql);
    await client.query(`INSERT INTO migration_guard.partial_migrations
       (version, name, checksum, statements_total, statements_done, statements, outside_transaction, run_id)
     SELECT version, name, checksum, total, done, ARRAY(SELECT jsonb_array_elements_text(statements)), outside, run_id
       FROM unnest($1::text[], $2::text[], $3::text[], $4::int[], $5::int[], $6::jsonb[], $7::jsonb[], $8::bigint[])
         AS t(version, name, checksum, total, done, statements, outside, run_id)
     ON CONFLICT (version) DO UPDATE SET name = EXCLUDED.name, checksum = EXCLUDED.checksum,
       statements_total = EXCLUDED.statements_total, statements_done = EXCLUDED.statements_done,
       statements = EXCLUDED.statements,
       outside_transaction = migration_guard.partial_migrations.outside_transaction || EXCLUDED.outside_transaction,
       run_id = EXCLUDED.run_id, recorded_at = clock_timestamp()`, [
        rows.map((r) => r.version),
        rows.map((r) => r.name),
        rows.map((r) => r.checksum),
        rows.map((r) => r.statementsTotal),
        rows.map((r) => r.statementsDone),
        rows.map((r) => JSON.stringify(r.statements)),
        rows.map((r) => JSON.stringify(r.outsideTransaction)),
        rows.map((r) => r.runId ?? null),
    ]);
}
/**
 * Forgets the rows of `versions` (applied whole, or reverted whole by their down migration) and of
 * any file that has a history row by now. Run after the files' transactions committed: a row left
 * behind by a crash in between is ignored by the plan (the file is applied) and removed here by
 * the next run that gets this far.
 */
async function forgetPartialMigrations(client, versions) {
    const { rows } = await client.query(`SELECT to_regclass('migration_guard.partial_migrations') IS NOT NULL AS partial,
            to_regclass('supabase_migrations.schema_migrations') IS NOT NULL AS history`);
    if (!rows[0].partial)
        return;
    await client.query(`DELETE FROM migration_guard.partial_migrations WHERE version = ANY ($1::text[])${rows[0].history ? ' OR version IN (SELECT version FROM supabase_migrations.schema_migrations)' : ''}`, [versions]);
}

;// CONCATENATED MODULE: ./src/migrations/limits.ts

/**
 * The largest migration file apply and plan accept. The parser works on bounded pieces
 * (sql-pieces.ts), but the rest grows with the file: its statements are kept for the run, and the
 * history row stores every statement's text (schema_migrations.statements, as the Supabase CLI
 * does), sent in one value. Measured: 8 to 13 times the file in peak memory (100 MB: 0.75-1.0 GiB
 * in transaction-mode all, up to 1.2 GiB in per-file, bench/large-files.mjs). Per-file mode stages
 * that row as jsonb, which PostgreSQL caps at 256 MB.
 */
const MAX_FILE_BYTES = 128 * 1024 * 1024;
/** Refuses, before anything runs, a pending file (or its verify script) above MAX_FILE_BYTES. */
function refuseOversizedFiles(pending) {
    for (const migration of pending) {
        for (const part of [migration.up, migration.verify]) {
            if (!part)
                continue;
            const size = part.source.byteLength;
            if (size <= MAX_FILE_BYTES)
                continue;
            throw new GuardError('too-large', `The file is ${size} bytes, larger than the ${MAX_FILE_BYTES} bytes (${MAX_FILE_BYTES / 2 ** 20} MB) a migration file may have: ` +
                'applying it takes about 11 times its size in memory (its statements, and the history row that keeps ' +
                "every statement's text as the Supabase CLI does), and per-file mode stages that row in a value PostgreSQL caps at 256 MB", {
                location: { file: part.path },
                hint: `Split it into several migration files of at most ${MAX_FILE_BYTES / 2 ** 20} MB (each is applied and recorded on its own), ` +
                    'or load bulk data outside the migrations (COPY, psql \\copy, pg_restore). Nothing has been run.',
            });
        }
    }
}

;// CONCATENATED MODULE: external "node:v8"
const external_node_v8_namespaceObject = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:v8");
// EXTERNAL MODULE: external "node:url"
var external_node_url_ = __nccwpck_require__(3136);
;// CONCATENATED MODULE: ./src/migrations/parser.ts




let loading;
/**
 * Loads the PostgreSQL parser (WASM) on first use only: status and no-op runs never pay for it.
 * Inside the ncc bundle the library looks for its .wasm beside `__dirname`, which ESM lacks,
 * so point it at the bundle's folder when the build copied the file there.
 */
function loadParser() {
    loading ??= (async () => {
        const here = (0,external_node_path_namespaceObject.dirname)((0,external_node_url_.fileURLToPath)(import.meta.url));
        // The CLI bundle sits in dist/cli/ and shares the action's copy in dist/.
        const bundleDir = [here, (0,external_node_path_namespaceObject.dirname)(here)].find((dir) => (0,external_node_fs_.existsSync)((0,external_node_path_namespaceObject.join)(dir, 'libpg-query.wasm')));
        if (bundleDir)
            globalThis.__dirname = bundleDir;
        keepWasmOnBaselineTier();
        const lib = await __nccwpck_require__.e(/* import() */ 627).then(__nccwpck_require__.t.bind(__nccwpck_require__, 2627, 23));
        await lib.loadModule();
        return lib;
    })();
    return loading;
}
/**
 * V8 compiles WebAssembly with its baseline compiler first and recompiles hot functions with its
 * optimising one in the background. The parser's state machine is one huge function: optimising
 * it takes a core for ~1.8 s (on this project's 2-core machine), far longer than a run parses,
 * so it never pays off; it only takes the CPU from the database server beside us, and Node 24
 * waits for it to finish before the process can exit (+1 s on every apply). These flags are read
 * when a module is compiled, so setting them before the parser's first (and only) compilation is
 * enough; the V8 flags of anything else are untouched. Measured with 500 files: the same parse
 * time, exit right after the work instead of ~1 s later.
 */
const BASELINE_WASM_FLAGS = ['--no-wasm-tier-up', '--no-wasm-dynamic-tiering'];
function keepWasmOnBaselineTier() {
    for (const flag of BASELINE_WASM_FLAGS)
        (0,external_node_v8_namespaceObject.setFlagsFromString)(flag);
}

;// CONCATENATED MODULE: ./src/db/ident.ts
/** Quotes an SQL identifier. The only place identifiers are turned into SQL text. */
function quoteIdent(name) {
    if (name.includes('\0'))
        throw new Error('identifier contains a NUL byte');
    return `"${name.replace(/"/g, '""')}"`;
}
/** Quotes a literal for the few places (SET LOCAL …) where PostgreSQL accepts no bind parameter. */
function quoteLiteral(value) {
    if (value.includes('\0'))
        throw new Error('literal contains a NUL byte');
    return `'${value.replace(/'/g, "''")}'`;
}

;// CONCATENATED MODULE: ./src/engine/invalid-index.ts

/**
 * A failed `CREATE INDEX CONCURRENTLY` (a duplicate key, a timeout, a cancellation) or
 * `REINDEX … CONCURRENTLY` leaves an INVALID index behind: never used by queries, still updated
 * on every write, and in the way of the statement's next attempt ("already exists"). The indexes
 * that were invalid before the statement are noted; after a failure, the new ones are dropped
 * (concurrently, under the lock timeout), or named with the statement that drops them.
 */
const LEAVES_INVALID_INDEX = new Set(['CREATE INDEX CONCURRENTLY', 'REINDEX CONCURRENTLY']);
const INVALID_INDEXES = 'SELECT indexrelid::regclass::text AS name FROM pg_index WHERE NOT indisvalid';
const MAY_HAVE_LEFT_INVALID_INDEX = 'it may have left an INVALID index behind: check pg_index for indisvalid = false';
async function watchInvalidIndexes(client, reason) {
    if (!reason || !LEAVES_INVALID_INDEX.has(reason))
        return undefined;
    const before = new Set((await client.query(INVALID_INDEXES)).rows.map((r) => r.name));
    return {
        async cleanUp(lockTimeoutMs) {
            let left;
            try {
                left = (await client.query(INVALID_INDEXES)).rows
                    .map((r) => r.name)
                    .filter((name) => !before.has(name));
            }
            catch {
                return { note: MAY_HAVE_LEFT_INVALID_INDEX, clean: false };
            }
            if (left.length === 0)
                return { clean: true };
            const notes = [];
            for (const name of left) {
                // regclass text is already quoted and schema-qualified where needed.
                const drop = `DROP INDEX CONCURRENTLY IF EXISTS ${name}`;
                try {
                    await client.query(`SET lock_timeout = ${quoteLiteral(`${lockTimeoutMs}ms`)}; SET statement_timeout = ${quoteLiteral(`${Math.max(5000, lockTimeoutMs * 2)}ms`)}`);
                    await client.query(drop);
                    notes.push(`the INVALID index ${name} it left behind was dropped`);
                }
                catch {
                    notes.push(`it left the INVALID index ${name} behind: drop it with ${drop}`);
                }
                finally {
                    await client.query('RESET lock_timeout; RESET statement_timeout').catch(() => { });
                }
            }
            return { note: notes.join('; '), clean: notes.every((n) => n.endsWith('was dropped')) };
        },
    };
}

;// CONCATENATED MODULE: ./src/engine/query-text.ts

/**
 * Another session's query, as reports may show it: without a single literal value. The text read
 * from pg_stat_activity is the application's, and its constants are the application's data
 * (an e-mail in a WHERE clause, a password in ALTER ROLE), so no report ever shows it raw.
 */
/** The longest normalised query a report shows, in characters. */
const QUERY_TEXT_LIMIT = 200;
/**
 * Normalises `text` for a report: constants become placeholders ($1, $2, …) and comments go.
 * The PostgreSQL parser's normaliser is used when the text parses; it leaves some constants in
 * place (a utility statement's, a column DEFAULT's) and keeps comments, so our own masking runs
 * over its output as well. Text that does not parse (pg_stat_activity cuts queries at
 * track_activity_query_size) is masked by our own code alone. The result is at most
 * QUERY_TEXT_LIMIT characters.
 */
async function normaliseQueryText(text, normaliser = loadParser) {
    let parsed;
    // A backslash before a quote reads differently with standard_conforming_strings off, which the
    // parser does not know about: such text goes to the masking below, which treats it as ambiguous.
    if (!/\\'/.test(text)) {
        try {
            const lib = await normaliser();
            lib.parseSync(text); // throws on text that does not parse: normalizeSync may not
            parsed = lib.normalizeSync(text);
        }
        catch {
            parsed = undefined;
        }
    }
    return query_text_cut(maskLiterals(parsed ?? text));
}
/** Cuts `text` to QUERY_TEXT_LIMIT characters (code points), marking the cut. */
function query_text_cut(text) {
    const chars = Array.from(text);
    if (chars.length <= QUERY_TEXT_LIMIT)
        return text;
    return `${chars
        .slice(0, QUERY_TEXT_LIMIT - 1)
        .join('')
        .trimEnd()}…`;
}
const IDENT_START = /[A-Za-z_\u0080-\uffff]/;
const IDENT_PART = /[A-Za-z0-9_$\u0080-\uffff]/;
const DIGIT = /[0-9]/;
/**
 * Replaces every literal in `sql` by a placeholder and drops comments, without parsing: strings
 * ('…', E'…', B'…', X'…', U&'…', N'…'), dollar-quoted strings and numbers (decimal, exponent,
 * hex/octal/binary, with underscores), each possibly cut off by the end of the text. Quoted
 * identifiers and $n parameters stay. A string holding a backslash before a quote reads
 * differently depending on standard_conforming_strings; where that could move a literal's end,
 * everything from that string on is masked. Whitespace is collapsed.
 */
function maskLiterals(sql) {
    let next = highestParameter(sql) + 1;
    const placeholder = () => `$${next++}`;
    let out = '';
    let i = 0;
    const n = sql.length;
    while (i < n) {
        const c = sql[i];
        const d = sql[i + 1];
        if (c === '-' && d === '-') {
            const end = sql.indexOf('\n', i);
            i = end < 0 ? n : end;
            out += ' ';
        }
        else if (c === '/' && d === '*') {
            i = blockCommentEnd(sql, i);
            out += ' ';
        }
        else if (c === "'") {
            const end = stringEnd(sql, i);
            if (end === undefined)
                return collapse(`${out}${placeholder()} …`);
            out += placeholder();
            i = end;
        }
        else if (c === '"') {
            const end = sql.indexOf('"', i + 1);
            const stop = end < 0 ? n : end + 1;
            out += sql.slice(i, stop);
            i = stop;
        }
        else if (c === '$') {
            const tag = /^\$(?:[A-Za-z_\u0080-\uffff][A-Za-z0-9_\u0080-\uffff]*)?\$/.exec(sql.slice(i, i + 65));
            if (tag) {
                const close = sql.indexOf(tag[0], i + tag[0].length);
                out += placeholder();
                if (close < 0)
                    return collapse(`${out} …`);
                i = close + tag[0].length;
            }
            else {
                const param = /^\$[0-9]+/.exec(sql.slice(i, i + 12));
                const stop = i + (param ? param[0].length : 1);
                out += sql.slice(i, stop);
                i = stop;
            }
        }
        else if (DIGIT.test(c) || (c === '.' && d !== undefined && DIGIT.test(d))) {
            i = numberEnd(sql, i);
            out += placeholder();
        }
        else if (IDENT_START.test(c)) {
            let end = i + 1;
            while (end < n && IDENT_PART.test(sql[end]))
                end++;
            // E'…', B'…', X'…', N'…': the prefix is part of the literal (U&'…' keeps its "U&").
            if (sql[end] === "'" && /^[EeBbXxNn]$/.test(sql.slice(i, end)))
                i = end;
            else {
                out += sql.slice(i, end);
                i = end;
            }
        }
        else {
            out += c;
            i++;
        }
    }
    return collapse(out);
}
/**
 * Where the string literal opening at `start` ends (after its closing quote), or undefined when
 * the text ends first or the end is ambiguous: with standard_conforming_strings off, and in
 * E'…', a backslash escapes the next character, and whether it did here is unknown, so both
 * readings are tried and must agree.
 */
function stringEnd(sql, start) {
    const standard = closingQuote(sql, start, false);
    const escaped = closingQuote(sql, start, true);
    return standard !== undefined && standard === escaped ? standard : undefined;
}
function closingQuote(sql, start, backslashEscapes) {
    for (let i = start + 1; i < sql.length; i++) {
        const c = sql[i];
        if (backslashEscapes && c === '\\')
            i++;
        else if (c === "'") {
            if (sql[i + 1] !== "'")
                return i + 1;
            i++;
        }
    }
    return undefined;
}
function blockCommentEnd(sql, start) {
    let depth = 0;
    let i = start;
    while (i < sql.length) {
        if (sql[i] === '/' && sql[i + 1] === '*') {
            depth++;
            i += 2;
        }
        else if (sql[i] === '*' && sql[i + 1] === '/') {
            depth--;
            i += 2;
            if (depth === 0)
                return i;
        }
        else
            i++;
    }
    return sql.length;
}
function numberEnd(sql, start) {
    const m = /^(?:0[xX][0-9A-Fa-f_]*|0[oO][0-7_]*|0[bB][01_]*|(?:[0-9][0-9_]*)?\.?[0-9_]*(?:[eE][+-]?[0-9_]*)?)/.exec(sql.slice(start, start + 400));
    const length = m && m[0].length > 0 ? m[0].length : 1;
    let end = start + length;
    // A number glued to letters (1abc, 0x1Fg) is still one token to hide.
    while (end < sql.length && IDENT_PART.test(sql[end]))
        end++;
    return end;
}
function highestParameter(sql) {
    let max = 0;
    for (const m of sql.matchAll(/\$([0-9]+)/g))
        max = Math.max(max, Number(m[1]));
    return max;
}
function collapse(text) {
    return text.replace(/\s+/g, ' ').trim();
}

;// CONCATENATED MODULE: ./src/engine/statement-runner.ts


class CancelledError extends Error {
    reason;
    constructor(reason, options) {
        super(`Cancelled (${reason}): the running statement was cancelled and its transaction rolled back`, options);
        this.reason = reason;
        this.name = 'CancelledError';
    }
}
/**
 * How much of a blocker's query is read for normalising: more than a report shows, so the parser
 * sees whole statements more often (pg_stat_activity holds at most track_activity_query_size,
 * 1 KB by default), and bounded, so a server configured to keep megabytes costs nothing.
 */
const BLOCKER_QUERY_READ = 4096;
const BLOCKERS_SQL = `
SELECT pid, application_name, usename, state, xact_start::text AS xact_start,
       extract(epoch FROM now() - coalesce(xact_start, query_start))::int AS age_seconds,
       left(query, ${BLOCKER_QUERY_READ}) AS query
  FROM pg_stat_activity WHERE pid = ANY (pg_blocking_pids($1))`;
/** How many of the given transactions (pid + start time) are still open. */
const STILL_OPEN_SQL = `
SELECT count(*)::int AS open FROM pg_stat_activity
 WHERE pid = ANY ($1::int[]) AND xact_start::text = ANY ($2::text[])`;
/**
 * Runs statements on the migration connection while a second, idle "control" connection stands
 * by: it cancels the running statement when the run is aborted (a cancelled GitHub job), and
 * shortly before a lock wait would time out it reads who the statement is waiting for.
 */
class StatementRunner {
    client;
    options;
    lastBlockers = [];
    control;
    constructor(client, options) {
        this.client = client;
        this.options = options;
    }
    /** Opens the control connection before real work begins. */
    async start() {
        if (!this.control && this.options.openControl)
            this.control = await this.options.openControl();
    }
    async close() {
        await this.control?.end().catch(() => { });
        this.control = undefined;
    }
    /** Runs `fn` on the control connection (opened by `start()`), beside the migration connection. */
    async withControl(fn) {
        if (!this.control)
            throw new Error('the control connection is not open');
        return fn(this.control);
    }
    get signal() {
        return this.options.signal;
    }
    /** The blockers seen during the most recent statement, if it waited on a lock. */
    blockers() {
        return this.lastBlockers;
    }
    throwIfCancelled() {
        const { signal } = this.options;
        if (signal?.aborted)
            throw new CancelledError(String(signal.reason ?? 'aborted'));
    }
    /**
     * Sends `sql` as one message; resolves with what its commands returned.
     * `meanwhile` runs once the message is on its way, before the reply is awaited: client work that
     * overlaps the server's.
     */
    async query(sql, meanwhile) {
        this.throwIfCancelled();
        const { backendPid, signal, lockTimeoutMs } = this.options;
        const control = this.control;
        this.lastBlockers = [];
        if (!control || backendPid === undefined) {
            const reply = sendCounted(this.client, sql);
            meanwhile?.();
            return reply;
        }
        const cancel = () => {
            control.query('SELECT pg_cancel_backend($1)', [backendPid]).catch(() => { });
        };
        signal?.addEventListener('abort', cancel, { once: true });
        // Any lock wait that times out lasts lock_timeout, so a peek at this period lands inside it
        // wherever in a long message it happens. An empty answer (no wait at that moment) keeps what
        // an earlier peek found. The last peek is awaited (briefly) before returning, so the blockers
        // it found (normalising takes a moment) are there for whoever asks about this statement.
        let peeking = Promise.resolve();
        const peek = setInterval(() => {
            peeking = control
                .query(BLOCKERS_SQL, [backendPid])
                .then(async ({ rows }) => {
                if (rows.length === 0)
                    return;
                // Normalised as soon as it is read: the raw text is never kept, so nothing can report it.
                this.lastBlockers = await Promise.all(rows.map(blockerOf));
            })
                .catch(() => { });
        }, Math.max(20, lockTimeoutMs - 150));
        try {
            const reply = sendCounted(this.client, sql);
            meanwhile?.();
            return await reply;
        }
        catch (error) {
            if (signal?.aborted)
                throw new CancelledError(String(signal.reason ?? 'aborted'), { cause: error });
            throw error;
        }
        finally {
            clearInterval(peek);
            signal?.removeEventListener('abort', cancel);
            await settledWithin(peeking, PEEK_SETTLE_MS);
        }
    }
    /** Waits, but wakes at once when the run is cancelled. */
    async sleep(ms) {
        const { signal } = this.options;
        await new Promise((resolve) => {
            const timer = setTimeout(done, ms);
            function done() {
                clearTimeout(timer);
                signal?.removeEventListener('abort', done);
                resolve();
            }
            signal?.addEventListener('abort', done, { once: true });
        });
        this.throwIfCancelled();
    }
    /**
     * Waits up to `ms` for the transactions that blocked the last statement to end, without taking
     * any lock: queueing again while they are open would stall application queries behind us for
     * another lock timeout. Returns early (after a little jitter) once they are gone.
     */
    async waitForBlockers(ms) {
        const control = this.control;
        const blockers = this.lastBlockers.filter((b) => b.xactStart);
        if (!control || blockers.length === 0)
            return this.sleep(ms);
        const deadline = Date.now() + ms;
        const pids = blockers.map((b) => b.pid);
        const starts = blockers.map((b) => b.xactStart);
        while (Date.now() < deadline) {
            const { rows } = await control
                .query(STILL_OPEN_SQL, [pids, starts])
                .catch(() => ({ rows: [{ open: 1 }] }));
            if (rows[0].open === 0)
                return this.sleep(Math.round(Math.random() * 100));
            await this.sleep(Math.min(200, Math.max(0, deadline - Date.now())));
        }
    }
}
/** The longest a finished statement waits for a peek still under way (a stalled control connection). */
const PEEK_SETTLE_MS = 1000;
function settledWithin(promise, ms) {
    return new Promise((resolve) => {
        const timer = setTimeout(resolve, ms);
        void promise.finally(() => {
            clearTimeout(timer);
            resolve();
        });
    });
}
const PgQuery = esm.Query;
/**
 * pg's Query, counting the commands of a multi-statement message that completed: when the message
 * fails, that count is the index of the failing command (PostgreSQL stops at the first error and
 * reports no index of its own). The server sends its replies when the whole message is done, so
 * their arrival says nothing about how long each command took; commands that read the clock
 * return that instead, and their rows are kept.
 */
class CountingQuery extends PgQuery {
    reply = { completed: 0, rows: [] };
    constructor(text) {
        super(text);
        this.on('row', (row) => {
            this.reply.rows[this.reply.completed] ??= row;
        });
    }
    handleCommandComplete(message, connection) {
        this.reply.completed++;
        super.handleCommandComplete(message, connection);
    }
}
/** The server's error behind `error` (a cancellation wraps it), with the message's partial reply. */
function batchErrorOf(error) {
    return (error instanceof CancelledError && error.cause ? error.cause : error);
}
/** Sends `sql` (one or more statements) as one simple-protocol message. */
function sendCounted(client, sql) {
    return new Promise((resolve, reject) => {
        const query = new CountingQuery(sql);
        query.callback = (error) => {
            if (!error)
                return resolve(query.reply);
            error.reply = query.reply;
            reject(error);
        };
        client.query(query);
    });
}
async function blockerOf(r) {
    return {
        pid: r.pid,
        applicationName: r.application_name ?? '',
        user: r.usename,
        state: r.state,
        ageSeconds: r.age_seconds,
        query: await normaliseQueryText(r.query ?? ''),
        xactStart: r.xact_start,
    };
}
/** `pid 4242 "billing-api" (idle in transaction, user app, transaction open 12 s): SELECT … = $1` */
function describeBlocker(b) {
    const who = b.applicationName ? `"${b.applicationName}"` : 'an unnamed session';
    const about = [
        b.state ?? undefined,
        b.user ? `user ${b.user}` : undefined,
        b.ageSeconds !== null ? `transaction open ${b.ageSeconds} s` : undefined,
    ].filter(Boolean);
    return `pid ${b.pid} ${who}${about.length ? ` (${about.join(', ')})` : ''}: ${b.query || '(no query text)'}`;
}

;// CONCATENATED MODULE: ./src/engine/execute/retry.ts

const LOCK_NOT_AVAILABLE = '55P03';
/** Longest wait between two attempts, whatever the lock timeout and attempt number. */
const MAX_DELAY_MS = 60_000;
/**
 * The wait before retry `attempt + 1`: exponential backoff scaled to the lock timeout, with jitter
 * (between half and all of the ceiling) so runs retrying in lockstep do not collide again.
 */
function backoffDelayMs(attempt, options) {
    const base = Math.max(options.retryBaseMs ?? 500, options.lockTimeoutMs);
    const ceiling = Math.min(MAX_DELAY_MS, base * 2 ** attempt);
    return Math.round(ceiling / 2 + (Math.random() * ceiling) / 2);
}
/**
 * After a failed attempt: when it was a lock timeout and retries remain, waits (backoffDelayMs)
 * and returns undefined, meaning "try again". Otherwise returns the failure to report. The wait
 * ends early once the blocking transactions are gone; while they are open we do not queue, so
 * application queries only wait behind us during the retries.
 */
async function waitToRetry(failure, attempt, options, outcome) {
    if (failure.error.sqlstate !== LOCK_NOT_AVAILABLE || failure.cancelled || attempt >= options.lockRetries)
        return failure;
    const delayMs = backoffDelayMs(attempt, options);
    const blockers = options.runner.blockers();
    const blocker = blockers.length > 0 ? blockers.map(describeBlocker).join('; ') : undefined;
    outcome.retries.push({ attempt: attempt + 1, delayMs, message: failure.error.message, blocker });
    options.onRetry?.({ version: failure.version, attempt: attempt + 1, delayMs, blocker });
    options.logger.warn(`${failure.error.file}:${failure.error.line}: no lock within ${options.lockTimeoutMs} ms` +
        `${blocker ? `, blocked by ${blocker}` : ''}; rolled back, retrying in ${delayMs} ms (retry ${attempt + 1} of ${options.lockRetries})`);
    try {
        await options.runner.waitForBlockers(delayMs);
        return undefined;
    }
    catch (error) {
        return { ...failure, error: { message: error.message }, cancelled: true };
    }
}

;// CONCATENATED MODULE: ./src/migrations/timeout-settings.ts
/**
 * The settings the engine runs every migration statement under (its lock-safety promise). A file
 * must not change them for the statements after it: `supabase db pull` and `pg_dump` headers
 * start with `SET statement_timeout = 0; SET lock_timeout = 0;`.
 */
const GUARDED_SETTINGS = ['lock_timeout', 'statement_timeout'];
/**
 * These change the defaults of sessions opened later (a role's, a database's, the server's), not
 * the running session: the engine sets its values explicitly, so they cannot loosen them.
 */
const DEFAULTS_FOR_NEW_SESSIONS = new Set(['AlterRoleSetStmt', 'AlterDatabaseSetStmt', 'AlterSystemStmt']);
const MENTIONS = GUARDED_SETTINGS.map((name) => ({ name, pattern: new RegExp(`\\b${name}\\b`, 'i') }));
/** RESET ALL resets the timeouts too (and every other setting). */
const RESET_ALL = /\breset\s+all\b/i;
/** A set_config call, with its first argument when that is a plain literal followed by a comma. */
const SET_CONFIG = /\bset_config\s*\(\s*(?:'([^']*)'\s*,)?/gi;
/**
 * What a statement does to the lock or statement timeout of the session running it, or undefined
 * when it cannot change them. SET/RESET are read from the parser's AST; anything else (a DO block,
 * `SELECT set_config(…)`, a function body, dynamic SQL) from its text: mentioning either setting,
 * RESET ALL, or calling set_config with a name that is not a literal, is enough. This errs towards
 * flagging: a false positive costs three short commands and a warning.
 */
function timeoutChange(nodeType, node, sql) {
    if (nodeType === 'VariableSetStmt')
        return fromSetStatement(node);
    if (DEFAULTS_FOR_NEW_SESSIONS.has(nodeType))
        return undefined;
    const mentioned = MENTIONS.filter((m) => m.pattern.test(sql)).map((m) => m.name);
    const calls = [...sql.matchAll(SET_CONFIG)].map((m) => m[1]?.toLowerCase());
    const computed = calls.some((name) => name === undefined);
    const resetsAll = RESET_ALL.test(sql);
    if (mentioned.length === 0 && !computed && !resetsAll)
        return undefined;
    const what = mentioned.length > 0 ? mentioned.join(' and ') : resetsAll ? 'every setting (RESET ALL)' : 'any setting';
    if (nodeType === 'CreateFunctionStmt')
        return `defines a function that can change ${what}: each call may change it`;
    if (nodeType === 'DoStmt')
        return `runs a DO block that can change ${what}`;
    const viaSetConfig = calls.filter((name) => mentioned.includes(name ?? ''));
    if (viaSetConfig.length > 0)
        return `sets ${[...new Set(viaSetConfig)].join(' and ')} with set_config`;
    if (computed)
        return 'calls set_config with a setting name computed at run time';
    return `mentions ${what}, which it may change`;
}
function fromSetStatement(node) {
    if (node.kind === 'VAR_RESET_ALL')
        return `resets every setting, ${GUARDED_SETTINGS.join(' and ')} included`;
    const name = typeof node.name === 'string' ? node.name.toLowerCase() : '';
    if (!GUARDED_SETTINGS.includes(name))
        return undefined;
    switch (node.kind) {
        case 'VAR_SET_VALUE':
            return node.is_local ? `sets ${name} for the rest of the transaction` : `sets ${name} for the session`;
        case 'VAR_SET_CURRENT':
            return `sets ${name} from its current value`;
        default:
            return `resets ${name} to the server's default`;
    }
}

;// CONCATENATED MODULE: ./src/engine/timeouts.ts


/** The lock and statement timeouts every migration statement runs under, as setting and value. */
function timeouts(options) {
    return [
        ['lock_timeout', `${options.lockTimeoutMs}ms`],
        ['statement_timeout', `${options.statementTimeoutMs ?? 0}ms`],
    ];
}
/** `set_config(…, true)` calls (SET LOCAL) setting both timeouts, for a SELECT list. */
function localTimeoutCalls(options) {
    return timeouts(options)
        .map(([name, value]) => `set_config(${quoteLiteral(name)}, ${quoteLiteral(value)}, true)`)
        .join(', ');
}
/**
 * The commands that follow a statement that can change the timeouts. A session-level SET inside
 * the transaction would outlive its COMMIT and apply to whatever runs next on the connection
 * outside a migration transaction (the run record, the schema fingerprint): RESET puts the
 * session back to the value it had before the run (the engine never sets session-level values
 * there), and set_config(…, true) restores the engine's values for the rest of the transaction.
 * Each element is one command (the executor counts completed commands).
 */
function reassertCommands(options) {
    return [...GUARDED_SETTINGS.map((name) => `RESET ${name}`), `SELECT ${localTimeoutCalls(options)}`];
}
/**
 * Whether a transaction holds a statement that may reset every setting (RESET ALL). That also
 * wipes what a per-file chain stages in session settings (its history rows, the file's start
 * time), so such a transaction is not chained: it is sent on its own, its history row written
 * with bind parameters.
 */
function resetsEverySetting(unit) {
    return (unit.kind === 'transaction' &&
        unit.steps.some((s) => s.kind === 'statement' &&
            s.statement.touchesTimeouts !== undefined &&
            RESET_ALL.test(s.statement.sql)));
}
/** A duration as the inputs take it ("2s", "250ms"); 0 is "off". */
function describeMs(ms) {
    if (!ms)
        return 'off';
    return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}
/** Statements whose own body runs under a value it sets, before the engine can set its own again. */
const INSIDE_ITSELF = {
    DoStmt: 'inside the DO block',
    CreateFunctionStmt: 'inside the function, when called,',
};
/**
 * One warning per statement of `prepared` (verify scripts included) that can change the timeouts:
 * where it is, what it tried, and that the engine's values applied anyway.
 */
function timeoutFindings(prepared, options) {
    const kept = `lock_timeout (${describeMs(options.lockTimeoutMs)}) and statement_timeout (${describeMs(options.statementTimeoutMs)})`;
    const findings = [];
    for (const item of prepared) {
        const parts = [
            { path: item.migration.up.path, statements: item.statements },
            { path: item.migration.verify?.path ?? '', statements: item.verify ?? [] },
        ];
        for (const { path, statements } of parts) {
            for (const s of statements) {
                if (!s.touchesTimeouts)
                    continue;
                const text = s.sql.replace(/\s+/g, ' ');
                const snippet = text.length > 80 ? `${text.slice(0, 80)}…` : text;
                const within = INSIDE_ITSELF[s.nodeType]
                    ? ` (${INSIDE_ITSELF[s.nodeType]} its own value applies)`
                    : '';
                findings.push({
                    code: 'timeout-setting',
                    severity: 'warning',
                    version: item.migration.version,
                    file: path,
                    line: s.line,
                    column: s.column,
                    message: `${path}:${s.line}: \`${snippet}\` ${s.touchesTimeouts}; ignored: the run's ${kept} are set ` +
                        `again right after it and between files${within}. To change them, use the lock-timeout and statement-timeout inputs`,
                });
            }
        }
    }
    return findings;
}
/**
 * Puts the timeout findings of `prepared` into the report, replacing earlier ones (the files are
 * known better now), and logs those not logged before.
 */
function reportTimeoutChanges(result, logger, prepared, options) {
    const before = new Set(result.findings.filter((f) => f.code === 'timeout-setting').map((f) => f.message));
    const found = timeoutFindings(prepared, options);
    result.findings = [...result.findings.filter((f) => f.code !== 'timeout-setting'), ...found];
    for (const f of found)
        if (!before.has(f.message))
            logger.warn(f.message);
}

;// CONCATENATED MODULE: ./src/engine/execute/settings-sql.ts


/** The lock and statement timeouts every migration statement runs under (also used by the rehearsal). */
function sessionSettings(options, scope) {
    return settingStatements(options, scope).join('; ');
}
/** The timeouts as separate SET commands. */
function settingStatements(options, scope) {
    const set = scope === 'LOCAL' ? 'SET LOCAL' : 'SET';
    return timeouts(options).map(([name, value]) => `${set} ${name} = ${quoteLiteral(value)}`);
}
/**
 * The one command opening each transaction of a chain: what `SET LOCAL` would set, as
 * `set_config(…, true)` calls in a single SELECT (a chain of 500 files runs it 500 times), and the
 * start mark. Setting synchronous_commit here rather than just before COMMIT is the same: it is
 * read at COMMIT.
 */
function chainOpening(options, asynchronousCommit, markStart) {
    const settings = [
        ...timeouts(options),
        ...(asynchronousCommit ? [['synchronous_commit', 'off']] : []),
    ];
    const local = settings.map(([name, value]) => `set_config(${quoteLiteral(name)}, ${quoteLiteral(value)}, true)`);
    return `SELECT ${[...local, markStart].join(', ')}`;
}

;// CONCATENATED MODULE: ./src/engine/execute/connection-loss.ts
/** Errors after which the session is gone: the server has rolled back whatever was open. */
function isConnectionLoss(error) {
    const err = error;
    if (err?.code && ['57P01', '57P02', '57P03', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT'].includes(err.code))
        return true;
    return /Connection terminated|connection is closed|Client has encountered a connection error|not queryable/i.test(err?.message ?? '');
}

;// CONCATENATED MODULE: ./src/engine/execute/sql-error.ts


/** Turns a server error into file:line:column, using PostgreSQL's error position inside the statement. */
function describeSqlError(error, step, positionInStatement) {
    const err = error;
    const message = err?.message ?? String(error);
    if (step.kind === 'record') {
        return {
            message: `recording ${step.migration.migration.fileName} in the history failed: ${message}`,
            file: step.migration.migration.path,
            sqlstate: err?.code,
        };
    }
    const { statement, part } = step;
    let at = { line: statement.line, column: statement.column };
    const position = positionInStatement ?? (err?.position ? Number(err.position) : NaN);
    if (Number.isInteger(position) && position > 0) {
        at = part.source.position(part.source.byteOffsetOfChar(statement.startByte, position - 1));
    }
    return {
        message: step.role === 'verify' ? `verify script failed: ${message}` : message,
        file: part.path,
        ...at,
        sqlstate: err?.code,
        detail: err?.detail,
        hint: err?.hint,
        // Whole: the sinks scrub it, then cut it to an excerpt (src/outbound.ts). Cut here, a secret
        // straddling the cut would leave a fragment no scrubber could recognise.
        statement: statement.sql,
    };
}
/** A failed step as the executor books it: where, what, and whether it was a cancellation or a lost connection. */
function failureOf(error, step, stepIndex, positionInStatement) {
    const cancelled = error instanceof CancelledError;
    const detail = describeSqlError(cancelled && error.cause ? error.cause : error, step, positionInStatement);
    if (cancelled)
        detail.message = error.message;
    return {
        version: step.migration.migration.version,
        error: detail,
        stepIndex,
        cancelled,
        connectionLost: isConnectionLoss(error),
    };
}

;// CONCATENATED MODULE: ./src/engine/execute/outside-transaction.ts




/**
 * One statement that cannot run in a transaction. A failed CONCURRENTLY's INVALID index is dropped
 * (invalid-index.ts); a lock timeout that left nothing behind is retried with backoff, like a
 * transaction's. The attempt that stands (committed, or failed for good) is booked for the report.
 */
async function runOutsideTransaction(step, attempt, options, outcome) {
    const { migration, statement } = step;
    const watch = await watchInvalidIndexes(options.runner.client, statement.nonTransactional).catch(() => undefined);
    let failure = await runAutocommit(step, options, outcome);
    const left = failure && watch
        ? failure.cancelled || failure.connectionLost
            ? { note: MAY_HAVE_LEFT_INVALID_INDEX, clean: false }
            : await watch.cleanUp(options.lockTimeoutMs)
        : undefined;
    if (failure && (!left || left.clean)) {
        const final = await waitToRetry(failure, attempt, options, outcome);
        if (!final)
            return 'retry';
        failure = final;
    }
    outcome.nonTransactionalDone.push({
        version: migration.migration.version,
        file: migration.migration.path,
        line: statement.line,
        statement: statement.sql,
        failed: failure ? true : undefined,
        leftBehind: left?.note,
        cleanedUp: left?.note ? left.clean : undefined,
    });
    return { failure };
}
async function runAutocommit(step, options, outcome) {
    const { runner } = options;
    const version = step.migration.migration.version;
    const started = performance.now();
    try {
        await runner.query(sessionSettings(options, 'SESSION'));
        await runner.query(step.statement.sql);
        return undefined;
    }
    catch (error) {
        return failureOf(error, step, 0);
    }
    finally {
        outcome.durations.set(version, (outcome.durations.get(version) ?? 0) + performance.now() - started);
        await runner.client.query('RESET lock_timeout; RESET statement_timeout').catch(() => { });
    }
}

;// CONCATENATED MODULE: ./src/engine/execute/outcome.ts
function emptyOutcome() {
    return {
        committed: [],
        partiallyCommitted: [],
        nonTransactionalDone: [],
        statementsCommitted: new Map(),
        durations: new Map(),
        retries: [],
    };
}
/** Adds `more` (milliseconds per version) to `timings`. */
function addDurations(timings, more) {
    for (const [version, ms] of more)
        timings.set(version, (timings.get(version) ?? 0) + ms);
}
/** Books a finished unit into the outcome; false when it failed (and the run stops). */
function settleUnit(outcome, steps, failure) {
    if (failure) {
        const ranBefore = steps.slice(0, failure.stepIndex).map((s) => s.migration.migration.version);
        outcome.failure = {
            version: failure.version,
            error: failure.error,
            rolledBack: [...new Set(ranBefore)].filter((v) => v !== failure.version),
            cancelled: failure.cancelled,
            connectionLost: failure.connectionLost,
        };
        return false;
    }
    for (const step of steps) {
        const version = step.migration.migration.version;
        if (step.kind === 'record')
            outcome.committed.push(version);
        else if (step.role === 'up')
            outcome.statementsCommitted.set(version, (outcome.statementsCommitted.get(version) ?? 0) + 1);
    }
    return true;
}

;// CONCATENATED MODULE: ./src/engine/batches.ts


/**
 * Statements go to the server as multi-statement messages: a few round trips for the whole run
 * instead of one per statement (or per file), which is what makes a remote database (5-50 ms
 * away) fast and spares the server a wake-up per file. A message spans files (the records of the
 * files it covers are written separately, before COMMIT) up to a size that keeps the client's
 * parsing ahead of the server in a streamed run. The separator starts on a new line so a trailing
 * `-- comment` cannot swallow it.
 */
const SEPARATOR = '\n;\n';
const MESSAGE_BYTES = 32 * 1024;
/** Where a message is cut inside a file rather than at its end. */
const FILE_MESSAGE_BYTES = 1024 * 1024;
/**
 * The server's replies to a message all arrive when it is done, so a file's duration is read from
 * the server's clock instead: a reading opens every message and follows each file's (or each
 * part's) last statement in it. Between two readings run the statements of one file.
 */
const CLOCK_READING = 'extract(epoch FROM clock_timestamp()) * 1000 AS clock_ms';
const CLOCK_SQL = `SELECT ${CLOCK_READING}`;
/** In `Batch.commands`: a clock reading rather than a statement. */
const CLOCK = -1;
/** In `Batch.commands`: one of the commands that set the engine's timeouts again (timeouts.ts). */
const GUARD = -2;
function batchesOf(steps, options = {}) {
    return [...batchesFrom(steps, options)];
}
/**
 * Lazily, for steps produced while the transaction runs: record steps are passed on at once, and
 * a message is sent when it is full or the steps end.
 */
function* batchesFrom(steps, options = {}) {
    const clock = options.clock ?? true;
    const clockSql = options.timeouts
        ? `SELECT ${localTimeoutCalls(options.timeouts)}, ${CLOCK_READING}`
        : CLOCK_SQL;
    const guard = options.timeouts ? reassertCommands(options.timeouts) : [];
    let current = [];
    let indices = [];
    let commands = [];
    let texts = [];
    const add = (command, text) => {
        commands.push(command);
        texts.push(text);
    };
    const opening = () => {
        if (clock)
            add(CLOCK, clockSql);
    };
    opening();
    let length = 0;
    let index = 0;
    const readClock = () => {
        if (clock && commands[commands.length - 1] !== CLOCK)
            add(CLOCK, clockSql);
    };
    const take = () => {
        readClock();
        const batch = {
            kind: 'statements',
            first: indices[0],
            steps: current,
            indices,
            commands,
            texts,
            sql: texts.join(SEPARATOR),
        };
        current = [];
        indices = [];
        commands = [];
        texts = [];
        opening();
        length = 0;
        return batch;
    };
    for (const step of steps) {
        if (step.kind === 'record') {
            if (current.length > 0)
                readClock();
            yield { kind: 'record', first: index++, step };
            if (length >= MESSAGE_BYTES)
                yield take();
            continue;
        }
        add(current.length, step.statement.sql);
        current.push(step);
        indices.push(index++);
        length += step.statement.sql.length + SEPARATOR.length;
        if (step.statement.touchesTimeouts)
            for (const sql of guard)
                add(GUARD, sql);
        // A file larger than a message (a data migration) goes in several: one message holding a
        // 100 MB file cost ~400 MB of client memory.
        if (length >= FILE_MESSAGE_BYTES)
            yield take();
    }
    if (current.length > 0)
        yield take();
}
/**
 * How long each file's statements in a message ran, in ms, by version: from the clock readings
 * that completed (a failed message has readings up to the failure only).
 */
function durationsOf(batch, reply) {
    const durations = new Map();
    let since;
    let version;
    batch.commands.slice(0, reply.completed).forEach((command, i) => {
        if (command === GUARD)
            return;
        if (command !== CLOCK) {
            version = batch.steps[command].migration.migration.version;
            return;
        }
        const now = Number(reply.rows[i]?.clock_ms);
        if (!Number.isFinite(now))
            return;
        if (since !== undefined && version !== undefined)
            durations.set(version, (durations.get(version) ?? 0) + now - since);
        since = now;
        version = undefined;
    });
    return durations;
}
/**
 * Which statement of a failed batch failed (PostgreSQL stops at the first error; the runner counts
 * the commands that completed) and where inside it: the server's position counts code points
 * from the start of the whole message. A failure during a clock reading or a GUARD command (a
 * cancellation, say) is put on the statement just before it.
 */
function locateFailure(batch, error) {
    const err = batchErrorOf(error);
    const at = Math.min(Math.max(0, err?.reply?.completed ?? 0), batch.commands.length - 1);
    const before = batch.commands.slice(0, at + 1).filter((c) => c >= 0);
    const statementAt = before.length > 0 ? before[before.length - 1] : 0;
    const located = { index: batch.indices[statementAt], step: batch.steps[statementAt] };
    if (batch.commands[at] < 0)
        return located;
    const positionInStatement = positionInCommand(batch.texts, at, Number(err?.position ?? NaN));
    return positionInStatement === undefined ? located : { ...located, positionInStatement };
}
/**
 * Turns the server's error position in a message of `commands` joined by SEPARATOR (code points
 * from the start of the message, from 1) into a position in command `index`; undefined when there
 * is none or it falls outside that command.
 */
function positionInCommand(commands, index, position) {
    if (!Number.isInteger(position) || position <= 0)
        return undefined;
    let start = 0;
    for (let i = 0; i < index; i++)
        start += Array.from(commands[i]).length + Array.from(SEPARATOR).length;
    const inCommand = position - start;
    return inCommand >= 1 && inCommand <= Array.from(commands[index]).length + 1 ? inCommand : undefined;
}

;// CONCATENATED MODULE: ./src/engine/chain.ts

/**
 * The chain of transaction units starting at `start`: as many consecutive ones as fit in a
 * message (at least one, however large), cut only between transactions.
 */
function chainFrom(units, start, text) {
    const commands = [];
    const records = [];
    let ordinal = text.firstOrdinal;
    let length = 0;
    let end = start;
    for (; end < units.length && (end === start || length < MESSAGE_BYTES); end++) {
        const unit = units[end];
        if (unit.kind !== 'transaction' || (end > start && text.alone?.(unit)))
            break;
        const at = end;
        const control = (sql) => commands.push({ sql, unit: at });
        control('BEGIN');
        text.open(at).forEach(control);
        if (at === start)
            text.prelude?.forEach(control);
        unit.steps.forEach((step, stepIndex) => {
            if (step.kind === 'record') {
                records.push({ ordinal, step });
                commands.push({ sql: text.record(ordinal++), unit: at, step, stepIndex });
            }
            else {
                commands.push({ sql: step.statement.sql, unit: at, step, stepIndex });
                length += step.statement.sql.length;
                if (step.statement.touchesTimeouts)
                    for (const sql of text.reassert ?? [])
                        commands.push({ sql, unit: at, stepIndex });
            }
        });
        commands.push({ sql: 'COMMIT', unit: at, commit: true });
    }
    return { first: start, end, commands, records, sql: commands.map((c) => c.sql).join(SEPARATOR) };
}
/**
 * Where a chain stopped: how many of its transactions committed, and which command failed (with
 * the error's position inside that command's text when the server gave one). `completed` is the
 * number of commands that completed before the failure.
 */
function locateChainFailure(chain, completed, position) {
    const index = Math.min(Math.max(0, completed), chain.commands.length - 1);
    const committed = chain.commands.slice(0, index).filter((c) => c.commit).length;
    const command = chain.commands[index];
    const texts = chain.commands.map((c) => c.sql);
    return { committed, command, positionInCommand: positionInCommand(texts, index, position ?? NaN) };
}

;// CONCATENATED MODULE: ./src/engine/execute/plan-needed.ts
/**
 * Thrown by a step source when a file turns out to need the full plan (a statement that must run
 * outside the transaction): the attempt is rolled back and the caller plans the run properly.
 */
class PlanNeededError extends Error {
    version;
    constructor(version) {
        super(`migration ${version} needs a transaction of its own`);
        this.version = version;
        this.name = 'PlanNeededError';
    }
}

;// CONCATENATED MODULE: ./src/engine/execute/transaction.ts







/**
 * A commit that does not wait for its WAL flush. Used for every transaction of a run except the
 * last: the last one's (synchronous) commit flushes the WAL up to itself, and with it every earlier
 * commit, before the run reports success. A server crash mid-run can lose the most recent of these
 * commits, each a whole file with its history row, never part of one.
 */
const ASYNCHRONOUS_COMMIT = 'SET LOCAL synchronous_commit = off; COMMIT';
/**
 * One attempt at a transaction. `steps` may be produced while it runs (see stream.ts): then
 * `whileWaiting` is called after each batch is sent and before its result is awaited, so the
 * client prepares the next file while the server runs this one. An error from producing the steps
 * (a GuardError, or PlanNeededError) rolls back and propagates as is.
 */
async function runTransaction(steps, options, timings, whileWaiting) {
    const { runner } = options;
    const seen = [];
    let current;
    try {
        await runner.query(['BEGIN', ...settingStatements(options, 'LOCAL'), ...(options.prelude ?? [])].join('; '));
        const records = [];
        for (const batch of batchesFrom(steps, { timeouts: options })) {
            if (batch.kind === 'record') {
                seen[batch.first] = batch.step;
                records.push(batch);
                continue;
            }
            batch.indices.forEach((at, i) => (seen[at] = batch.steps[i]));
            current = batch;
            let reply;
            try {
                reply = await runner.query(batch.sql, whileWaiting);
            }
            catch (error) {
                const partial = batchErrorOf(error)?.reply;
                if (partial)
                    addDurations(timings, durationsOf(batch, partial));
                throw error;
            }
            addDurations(timings, durationsOf(batch, reply));
        }
        if (records.length > 0) {
            current = records[0];
            runner.throwIfCancelled();
            await options.record(records.map(({ step }) => ({
                migration: step.migration,
                durationMs: Math.round(timings.get(step.migration.migration.version) ?? 0),
            })));
        }
        current = undefined;
        runner.throwIfCancelled();
        await runner.client.query(options.asynchronousCommit ? ASYNCHRONOUS_COMMIT : 'COMMIT');
        return undefined;
    }
    catch (error) {
        await runner.client.query('ROLLBACK').catch(() => { });
        if (error instanceof GuardError || error instanceof PlanNeededError)
            throw error;
        if (current?.kind === 'statements') {
            const located = locateFailure(current, error);
            return failureOf(error, located.step, located.index, located.positionInStatement);
        }
        if (seen.length === 0)
            return startFailure(error, Array.isArray(steps) ? steps : []);
        const stepIndex = current ? current.first : seen.length - 1;
        return failureOf(error, seen[stepIndex], stepIndex);
    }
}
/**
 * A failure before any statement ran (opening the transaction, staging history rows): blamed on
 * the first statement when there is one to blame it on.
 */
function startFailure(error, steps) {
    if (error instanceof GuardError || error instanceof PlanNeededError)
        throw error;
    if (steps.length > 0)
        return failureOf(error, steps[0], 0);
    if (error instanceof CancelledError)
        throw new GuardError('cancelled', `${error.message}; nothing was applied`, { cause: error });
    throw new GuardError('migration-failed', `Could not start the migration transaction: ${errorMessage(error)}`, {
        hint: 'Nothing was applied. Check that the database role may create the supabase_migrations schema and its table.',
        cause: error,
    });
}

;// CONCATENATED MODULE: ./src/engine/execute/run-chain.ts







/**
 * One attempt at the chain of transactions starting at unit `start` (see chain.ts): stages their
 * history rows, sends them as one message, and reports how many committed before any failure.
 */
async function runChain(units, start, options, chainOptions, ordinals, timings) {
    const { runner } = options;
    const chain = chainFrom(units, start, {
        open: (index) => [chainOpening(options, index < units.length - 1, chainOptions.markStart)],
        prelude: options.prelude,
        record: chainOptions.recordSql,
        firstOrdinal: ordinals.next,
        reassert: reassertCommands(options),
        alone: travelsAlone,
    });
    ordinals.next += chain.records.length;
    const firstSteps = units[start].steps;
    let reply;
    try {
        runner.throwIfCancelled();
        await chainOptions.stage(chain.records.map(({ ordinal, step }) => ({ ordinal, migration: step.migration })));
        reply = await runner.query(chain.sql);
        return { committed: chain.end - chain.first };
    }
    catch (error) {
        await runner.client.query('ROLLBACK').catch(() => { });
        const batchError = batchErrorOf(error);
        reply = batchError?.reply;
        if (!reply)
            return { committed: 0, failure: startFailure(error, firstSteps) };
        const located = locateChainFailure(chain, reply.completed, Number(batchError.position ?? NaN));
        const steps = units[located.command.unit].steps;
        // BEGIN, SET and bookkeeping DDL are blamed on the file's first step, COMMIT on its history row.
        const stepIndex = located.command.stepIndex ?? (located.command.commit ? steps.length - 1 : 0);
        const failure = failureOf(error, steps[stepIndex], stepIndex, located.command.step ? located.positionInCommand : undefined);
        return { committed: located.committed, failure };
    }
    finally {
        // Each history row returns its file's duration, by the server's clock.
        chain.commands.slice(0, reply?.completed ?? 0).forEach((command, i) => {
            const ms = Number(reply?.rows[i]?.duration_ms);
            if (command.step?.kind !== 'record' || !Number.isFinite(ms))
                return;
            const version = command.step.migration.migration.version;
            timings.set(version, (timings.get(version) ?? 0) + ms);
        });
    }
}
/**
 * A transaction that is not chained with its neighbours but sent on its own (its history row
 * written with bind parameters): one holding RESET ALL (it would wipe what the chain stages in
 * session settings), and one larger than a message, which then goes in several messages of about
 * FILE_MESSAGE_BYTES instead of one message holding the whole file (a 100 MB data file as one
 * message cost ~400 MB of client memory).
 */
function travelsAlone(unit) {
    if (unit.kind !== 'transaction')
        return false;
    if (resetsEverySetting(unit))
        return true;
    let bytes = 0;
    for (const step of unit.steps) {
        if (step.kind !== 'statement')
            continue;
        bytes += step.statement.sql.length;
        if (bytes > FILE_MESSAGE_BYTES)
            return true;
    }
    return false;
}

;// CONCATENATED MODULE: ./src/engine/execute.ts









/**
 * Runs the units in order; stops at the first failure, whose transaction is rolled back. A
 * transaction that times out waiting for a lock is retried (with backoff) from where it stopped.
 */
async function executeUnits(units, options) {
    const outcome = emptyOutcome();
    const startedVersions = new Set();
    let prelude = options.prelude;
    let attempt = 0;
    const ordinals = { next: 1 };
    for (let index = 0; index < units.length;) {
        const unit = units[index];
        if (unit.kind === 'autocommit') {
            const tried = await runOutsideTransaction(unit.step, attempt, options, outcome);
            if (tried === 'retry') {
                attempt++;
                continue;
            }
            if (!settleUnit(outcome, [unit.step], tried.failure))
                break;
            startedVersions.add(unit.step.migration.migration.version);
            attempt = 0;
            index++;
            continue;
        }
        const timings = new Map();
        const tried = options.chain && !travelsAlone(unit)
            ? await runChain(units, index, { ...options, prelude }, options.chain, ordinals, timings)
            : await runTransaction(unit.steps, { ...options, prelude, asynchronousCommit: index < units.length - 1 }, timings).then((failure) => ({ committed: failure ? 0 : 1, failure }));
        addDurations(outcome.durations, timings);
        // The history rows that committed (not every step: spreading a data file's hundreds of
        // thousands of statements into one call would overflow the stack).
        const committedRecords = [];
        for (const done of units.slice(index, index + tried.committed)) {
            const steps = done.kind === 'transaction' ? done.steps : [done.step];
            settleUnit(outcome, steps, undefined);
            for (const step of steps) {
                startedVersions.add(step.migration.migration.version);
                if (step.kind === 'record')
                    committedRecords.push(step);
            }
        }
        announceCommitted(options, outcome, committedRecords);
        if (tried.committed > 0)
            [attempt, prelude] = [0, undefined];
        index += tried.committed;
        if (!tried.failure)
            continue;
        const finalFailure = await waitToRetry(tried.failure, attempt, options, outcome);
        if (!finalFailure) {
            attempt++;
            continue;
        }
        const failed = units[index];
        settleUnit(outcome, failed.kind === 'transaction' ? failed.steps : [failed.step], finalFailure);
        break;
    }
    outcome.partiallyCommitted = [...startedVersions].filter((v) => !outcome.committed.includes(v));
    // Best effort: after a lost connection there is nothing left to clear.
    await options.chain?.unstage(ordinals.next - 1).catch(() => { });
    return outcome;
}
/**
 * The whole run as one transaction whose steps are produced while it runs (stream.ts): the same
 * outcome as `executeUnits` with a single transaction unit.
 */
async function executeStreamedTransaction(source, options) {
    const outcome = emptyOutcome();
    let failure;
    for (let attempt = 0;; attempt++) {
        const timings = new Map();
        failure = await runTransaction(source.steps(), options, timings, source.whileWaiting);
        addDurations(outcome.durations, timings);
        if (!failure)
            break;
        failure = await waitToRetry(failure, attempt, options, outcome);
        if (failure)
            break;
    }
    settleUnit(outcome, source.produced(), failure);
    if (!failure)
        announceCommitted(options, outcome, source.produced());
    return outcome;
}
/** Tells `onCommitted` which files the steps just committed (those whose history row was among them). */
function announceCommitted(options, outcome, steps) {
    if (!options.onCommitted)
        return;
    const files = steps
        .filter((step) => step.kind === 'record')
        .map((step) => {
        const version = step.migration.migration.version;
        return { version, durationMs: Math.round(outcome.durations.get(version) ?? 0) };
    });
    if (files.length > 0)
        options.onCommitted(files);
}

;// CONCATENATED MODULE: ./src/migrations/psql-features.ts

/**
 * Scripts written for psql may use what only psql understands: meta-commands (`\i`, `\set`,
 * `\connect`, …) and the data lines of `COPY … FROM stdin`. The server never sees those, and
 * neither does this tool, which sends SQL statements only: say so at their line instead of
 * reporting a syntax error (or, for a COPY, hanging on input that never comes).
 */
const NOTHING_RUN = 'Nothing has been run.';
/** `COPY … FROM stdin` (or `pstdin`): the server would wait for rows that only psql can send. */
function isCopyFromStdin(nodeType, node) {
    return nodeType === 'CopyStmt' && node.is_from === true && node.filename === undefined && !node.is_program;
}
function copyFromStdinError(file, at) {
    return new GuardError('parse-error', 'COPY … FROM stdin reads its rows from psql (the data lines after the statement); this tool runs SQL statements only and has no such input', {
        location: { file, ...at },
        hint: `Write the rows as INSERT statements (pg_dump --inserts produces them), or load the data in a step of its own outside the migration. ${NOTHING_RUN}`,
    });
}
/**
 * After the parser stopped at `errorByte`: the psql feature that made it stop, as an error
 * naming its line, or undefined for an ordinary syntax error. The parser's position is where the
 * text stopped being SQL, so nothing inside a string or a dollar-quoted body is ever mistaken for
 * a meta-command.
 */
function psqlFeatureError(parser, source, start, errorByte, file) {
    // Rows after a COPY … FROM stdin can look like anything, a `\N` (NULL) or the closing `\.`
    // included: the COPY comes first.
    const copy = copyFromStdinBefore(parser, source, start, errorByte);
    if (copy !== undefined)
        return copyFromStdinError(file, source.position(copy));
    if (source.bytes[errorByte] !== 0x5c)
        return undefined;
    const command = /^\\([A-Za-z_]+|\S)?/.exec(source.slice(errorByte, errorByte + 64))?.[1] ?? '';
    const { message, hint } = describeMetaCommand(command);
    return new GuardError('parse-error', message, {
        location: { file, ...source.position(errorByte) },
        hint: `${hint} ${NOTHING_RUN}`,
    });
}
function describeMetaCommand(command) {
    const name = `\\${command}`;
    const only = 'this tool runs SQL statements only, not psql meta-commands';
    switch (command) {
        case 'i':
        case 'ir':
        case 'include':
        case 'include_relative':
            return {
                message: `${name} includes another file in psql; ${only}`,
                hint: "Inline the included file's statements here, or make that file a migration of its own.",
            };
        case 'set':
        case 'unset':
            return {
                message: `${name} sets a psql variable; ${only}, and :variables are never substituted`,
                hint: `Write the value into the SQL where the variable is used, and remove the ${name} line.`,
            };
        case 'c':
        case 'connect':
            return {
                message: `${name} connects psql to another database; ${only}, and a migration runs on the one database the run targets`,
                hint: 'Remove it; migrate another database with a run of its own (its own database-url).',
            };
        case 'copy':
            return {
                message: `${name} copies data through psql; ${only}`,
                hint: 'Write the rows as INSERT statements.',
            };
        case '.':
            return {
                message: `\\. ends the data of a COPY … FROM stdin in psql; ${only}`,
                hint: 'Write the rows as INSERT statements instead of COPY data.',
            };
        default:
            return {
                message: `${name} is a psql meta-command; ${only}`,
                hint: `Remove it, or do in SQL what ${name} does.`,
            };
    }
}
/** Lines to step back from the error while looking for the statement the COPY data follows. */
const COPY_SEARCH_LINES = 8;
/**
 * The byte offset of a `COPY … FROM stdin` whose data lines the parser stopped in, if any. Every
 * statement before the data parses, so the text up to the line where parsing failed (or a line
 * or so before it, when the data happened to continue a statement) parses and ends with it.
 */
function copyFromStdinBefore(parser, source, start, errorByte) {
    const before = source.slice(start, errorByte);
    // Most syntax errors have no COPY before them: they cost no second parse.
    if (!/\bcopy\b/i.test(before) || !/\bp?stdin\b/i.test(before))
        return undefined;
    let cut = lineStart(source, errorByte);
    for (let tries = 0; tries < COPY_SEARCH_LINES && cut > start; tries++) {
        const text = source.slice(start, cut);
        if (text.trim() === '')
            return undefined;
        let stmts;
        try {
            stmts = parser.parseSync(text).stmts ?? [];
        }
        catch {
            cut = lineStart(source, cut - 1);
            continue;
        }
        for (const raw of stmts) {
            const [nodeType, node] = Object.entries(raw.stmt)[0];
            if (isCopyFromStdin(nodeType, node))
                return start + (raw.stmt_location ?? 0);
        }
        return undefined;
    }
    return undefined;
}
function lineStart(source, byteOffset) {
    return byteOffset <= 0 ? 0 : source.bytes.lastIndexOf(0x0a, byteOffset - 1) + 1;
}

;// CONCATENATED MODULE: ./src/migrations/sql-pieces.ts
/**
 * Cuts SQL into pieces at statement boundaries *before* it is parsed, so that the parser (WASM,
 * whose memory grows to ~65 times its input and never shrinks) is never handed a whole large file:
 * a 50 MB data file made it run out of memory. The boundaries are found by a small lexer that
 * knows every construct of PostgreSQL's scanner (scan.l) that can hide a `;`:
 * - '…' strings ('' escapes; backslashes are plain characters, as with
 *   standard_conforming_strings = on, the only setting the parser knows), B'…', X'…', N'…', U&'…';
 * - E'…' strings (backslash escapes, also in a '…' that continues them after a newline);
 * - "…" identifiers ("" escapes) and U&"…";
 * - $tag$…$tag$ dollar quotes (a `$` inside a word, `a$b$`, belongs to the word; `$1` is a parameter);
 * - -- comments and nested /* … *\/ comments;
 * - parentheses (CREATE RULE … DO (a; b)) and the BEGIN ATOMIC … END body of a SQL-standard
 *   function or procedure, tracked as psql tracks it (psqlscan.l).
 *
 * It cuts only where it is sure: after a `;` outside all of those. Where it is not (a quote that
 * never closes, an unbalanced parenthesis), it makes no further cut, and the rest of the text is
 * one piece, parsed whole as before, so that the parser reports the error.
 */
/**
 * Pieces are about this size. Smaller pieces leave less garbage behind each parse (V8 lets it
 * pile up until a full collection: 256 KB pieces peaked ~25 MB higher on a 100 MB file) and
 * parse no slower; a file under this size is one piece, as before.
 */
const PIECE_BYTES = 16 * 1024;
/**
 * The largest statement the parser is handed. One statement cannot be cut, and parsing it takes
 * ~65 times its size in memory (a 10 MB INSERT: ~750 MB), so a larger one is refused before
 * anything runs rather than crash the parser.
 */
const MAX_STATEMENT_BYTES = 8 * 1024 * 1024;
// Byte classes.
const isSpace = (b) => b === 0x20 || (b >= 0x09 && b <= 0x0d);
const isIdentStart = (b) => (b >= 0x61 && b <= 0x7a) || (b >= 0x41 && b <= 0x5a) || b === 0x5f || b >= 0x80;
const isDigit = (b) => b >= 0x30 && b <= 0x39;
const isIdentCont = (b) => isIdentStart(b) || isDigit(b) || b === 0x24;
const isNewline = (b) => b === 0x0a || b === 0x0d;
const QUOTE = 0x27; // '
const DQUOTE = 0x22; // "
const DOLLAR = 0x24;
const SEMI = 0x3b;
const BACKSLASH = 0x5c;
const freshState = () => ({ parens: 0, begins: 0, words: [], wordCount: 0 });
/**
 * The pieces of bytes start..end, in order: each under 2 × `target` bytes, unless it is a single
 * statement (or the unsure rest). Lazily: memory stays bounded whatever the text's size.
 */
function* sqlPieces(bytes, start, end, target = PIECE_BYTES) {
    let pieceStart = start;
    let pieceFirstToken = -1;
    let pieceStatements = 0;
    // The last top-level `;` of the current piece (just after it), and the first token after it.
    let lastCut = -1;
    let tokenAfterCut = -1;
    let state = freshState();
    let i = start;
    const token = (at) => {
        if (pieceFirstToken < 0)
            pieceFirstToken = at;
        if (lastCut >= 0 && tokenAfterCut < 0)
            tokenAfterCut = at;
    };
    /**
     * The statement ending at `at` was counted. When the piece is full, it is handed out; when that
     * statement alone is `target` or larger, the statements before it go first, so that a piece of
     * 2 × `target` or more always holds a single statement.
     */
    function* cutAt(at, final) {
        if (!final && at - pieceStart < target) {
            lastCut = at;
            tokenAfterCut = -1;
            return;
        }
        if (lastCut > pieceStart && at - lastCut >= target) {
            yield piece(pieceStart, lastCut, pieceFirstToken, pieceStatements - 1);
            pieceStart = lastCut;
            pieceFirstToken = tokenAfterCut;
            pieceStatements = 1;
        }
        if (at > pieceStart)
            yield piece(pieceStart, at, pieceFirstToken, pieceStatements);
        pieceStart = at;
        pieceFirstToken = -1;
        pieceStatements = 0;
        lastCut = -1;
        tokenAfterCut = -1;
    }
    function* rest(unclosed) {
        yield { ...piece(pieceStart, end, pieceFirstToken, pieceStatements + 1), unclosed };
    }
    while (i < end) {
        const b = bytes[i];
        if (isSpace(b)) {
            i++;
            continue;
        }
        // Comments (scan.l starts one at `--` or `/*` even inside an operator).
        if (b === 0x2d && bytes[i + 1] === 0x2d && i + 1 < end) {
            i = lineEnd(bytes, i, end);
            continue;
        }
        if (b === 0x2f && bytes[i + 1] === 0x2a && i + 1 < end) {
            const close = sql_pieces_blockCommentEnd(bytes, i, end);
            if (close < 0)
                return yield* rest({ what: 'a /* comment', at: i });
            i = close;
            continue;
        }
        token(i);
        if (b === SEMI) {
            i++;
            if (state.parens > 0 || state.begins > 0)
                continue;
            pieceStatements++;
            state = freshState();
            yield* cutAt(i, false);
            continue;
        }
        if (b === QUOTE) {
            const close = quotedEnd(bytes, i, end, QUOTE, false);
            if (close < 0)
                return yield* rest({ what: 'a quoted string', at: i });
            i = close;
            continue;
        }
        if (b === DQUOTE) {
            const close = quotedEnd(bytes, i, end, DQUOTE, false);
            if (close < 0)
                return yield* rest({ what: 'a quoted identifier', at: i });
            i = close;
            continue;
        }
        if (b === DOLLAR) {
            const tagEnd = dollarTagEnd(bytes, i, end);
            if (tagEnd < 0) {
                i++;
                while (i < end && isDigit(bytes[i]))
                    i++; // a parameter ($1) or a lone `$`
                continue;
            }
            const close = indexOfBytes(bytes, bytes.subarray(i, tagEnd), tagEnd, end);
            if (close < 0)
                return yield* rest({ what: 'a dollar-quoted string', at: i });
            i = close + (tagEnd - i);
            continue;
        }
        if (isIdentStart(b)) {
            const wordStart = i;
            while (i < end && isIdentCont(bytes[i]))
                i++;
            // E'…' (a token of its own, not the end of a longer word): backslashes escape.
            if (i - wordStart === 1 && (b === 0x45 || b === 0x65) && bytes[i] === QUOTE && i < end) {
                const close = extendedStringEnd(bytes, i, end);
                if (close < 0)
                    return yield* rest({ what: "an E'…' string", at: wordStart });
                i = close;
                continue;
            }
            noteWord(state, bytes, wordStart, i);
            continue;
        }
        if (isDigit(b)) {
            // A number (with any trailing junk the parser will refuse): never absorbs a `$`.
            i++;
            while (i < end && (isIdentStart(bytes[i]) || isDigit(bytes[i]) || bytes[i] === 0x2e))
                i++;
            continue;
        }
        if (b === 0x28)
            state.parens++;
        else if (b === 0x29 && state.parens > 0)
            state.parens--;
        i++;
    }
    // The text after the last `;` (a last statement without one, or only comments).
    if (pieceFirstToken >= 0 && (lastCut < 0 || tokenAfterCut >= 0))
        pieceStatements++;
    yield* cutAt(end, true);
}
function piece(start, end, firstToken, statements) {
    return { start, end, firstToken, statements };
}
/** psqlscan.l's heuristic for `;` inside BEGIN ATOMIC … END (CASE … END nests inside it). */
function noteWord(state, bytes, start, end) {
    const word = end - start <= 9 ? asciiLower(bytes, start, end) : '';
    if (state.wordCount < 4 && ['create', 'or', 'replace', 'function', 'procedure'].includes(word)) {
        state.words[state.wordCount] = word[0];
    }
    state.wordCount++;
    const [w0, w1, w2, w3] = state.words;
    const routine = w0 === 'c' && (w1 === 'f' || w1 === 'p' || (w1 === 'o' && w2 === 'r' && (w3 === 'f' || w3 === 'p')));
    if (!routine || state.parens > 0)
        return;
    if (word === 'begin')
        state.begins++;
    else if (word === 'case' && state.begins > 0)
        state.begins++;
    else if (word === 'end' && state.begins > 0)
        state.begins--;
}
function asciiLower(bytes, start, end) {
    let s = '';
    for (let i = start; i < end; i++)
        s += String.fromCharCode(bytes[i] | 0x20);
    return s;
}
function lineEnd(bytes, i, end) {
    while (i < end && !isNewline(bytes[i]))
        i++;
    return i;
}
/** Just past the `*\/` closing the (nested) comment that opens at i; -1 when it never closes. */
function sql_pieces_blockCommentEnd(bytes, i, end) {
    let depth = 0;
    while (i < end) {
        if (bytes[i] === 0x2f && bytes[i + 1] === 0x2a && i + 1 < end) {
            depth++;
            i += 2;
        }
        else if (bytes[i] === 0x2a && bytes[i + 1] === 0x2f && i + 1 < end) {
            depth--;
            i += 2;
            if (depth === 0)
                return i;
        }
        else
            i++;
    }
    return -1;
}
/** Just past the quote closing the one at i (doubled quotes are escapes); -1 when none. */
function quotedEnd(bytes, i, end, quote, backslashes) {
    i++;
    while (i < end) {
        const b = bytes[i];
        if (backslashes && b === BACKSLASH)
            i += 2;
        else if (b === quote) {
            if (bytes[i + 1] === quote && i + 1 < end)
                i += 2;
            else
                return i + 1;
        }
        else
            i++;
    }
    return -1;
}
/**
 * An E'…' string from its quote at i, with its continuations: scan.l keeps lexing in the same
 * mode when the string is followed by whitespace holding a newline (and -- comments) and a quote.
 */
function extendedStringEnd(bytes, i, end) {
    for (;;) {
        const close = quotedEnd(bytes, i, end, QUOTE, true);
        if (close < 0 || close > end)
            return -1;
        const next = continuedQuote(bytes, close, end);
        if (next < 0)
            return close;
        i = next;
    }
}
/**
 * The position of a quote continuing the string that ended at i, or -1 (scan.l: quotecontinue):
 * spaces, a newline, any whitespace, then a quote. A comment in between ends the string (as
 * libpg-query's scanner does).
 */
function continuedQuote(bytes, i, end) {
    while (i < end && (bytes[i] === 0x20 || bytes[i] === 0x09 || bytes[i] === 0x0c))
        i++;
    if (i >= end || !isNewline(bytes[i]))
        return -1;
    while (i < end && isSpace(bytes[i]))
        i++;
    return i < end && bytes[i] === QUOTE ? i : -1;
}
/** Just past the `$tag$` delimiter opening at i, or -1 when the `$` opens none. */
function dollarTagEnd(bytes, i, end) {
    let j = i + 1;
    if (j < end && bytes[j] !== DOLLAR) {
        if (!isIdentStart(bytes[j]))
            return -1;
        while (j < end && (isIdentStart(bytes[j]) || isDigit(bytes[j])))
            j++;
    }
    return j < end && bytes[j] === DOLLAR ? j + 1 : -1;
}
function indexOfBytes(bytes, needle, from, end) {
    const found = Buffer.from(bytes.buffer, bytes.byteOffset, end).indexOf(needle, from);
    return found;
}

;// CONCATENATED MODULE: ./src/migrations/parse-pieces.ts



/**
 * Parses bytes start..end of `source` as `parser.parseSync` would parse them whole, but piece by
 * piece (sql-pieces.ts): the parser is handed one piece at a time (~16 KB, or one statement up to
 * MAX_STATEMENT_BYTES), and each piece's syntax tree is dropped once its statements are consumed,
 * so memory stays bounded whatever the file's size. Offsets are shifted to be relative to `start`,
 * exactly as a whole parse gives them.
 *
 * Errors are GuardErrors naming file:line:column: a syntax error as the whole parse reports it,
 * a statement too large to parse, or (above that size) a quote or comment that never closes.
 */
function parseInPieces(parser, source, start, end, file, 
/** Piece size (tests use tiny pieces to cut at every boundary). */
pieceBytes = PIECE_BYTES) {
    // Where the statements handed out so far end (a fallback parses the rest of the range at once).
    let parsedTo = start;
    return { stmts: statements() };
    function* statements() {
        for (const piece of sqlPieces(source.bytes, start, end, pieceBytes)) {
            if (piece.start < parsedTo)
                continue;
            if (piece.firstToken < 0 && !piece.unclosed)
                continue; // whitespace and (closed) comments only
            yield* parsePiece(piece);
        }
    }
    function parsePiece(piece) {
        refuseOversized(piece);
        let parsed;
        try {
            parsed = parser.parseSync(source.slice(piece.start, piece.end));
        }
        catch (error) {
            // The lexer cut where it was sure; should it have been wrong, the rest of the file parsed
            // whole (as before pieces existed) is the reference, when it is small enough to parse.
            if (piece.end === end || end - piece.start > MAX_STATEMENT_BYTES) {
                throw syntaxError(error, piece.start, piece.end);
            }
            try {
                parsed = parser.parseSync(source.slice(piece.start, end));
            }
            catch (wholeError) {
                throw syntaxError(wholeError, piece.start, end);
            }
            piece = { ...piece, end };
        }
        parsedTo = piece.end;
        const shift = piece.start - start;
        return (parsed.stmts ?? []).map((raw) => {
            const location = raw.stmt_location ?? 0;
            // Only the range's very last statement may run to its end without a length.
            const length = raw.stmt_len || (piece.end === end ? undefined : piece.end - piece.start - location);
            return { stmt: raw.stmt, stmt_location: shift + location, stmt_len: length };
        });
    }
    function refuseOversized(piece) {
        const size = piece.end - piece.start;
        if (size <= MAX_STATEMENT_BYTES)
            return;
        if (piece.unclosed) {
            // What the parser would report, found without handing it the rest of the file.
            throw new GuardError('parse-error', `SQL syntax error: ${piece.unclosed.what} opened here is never closed: the rest of the file (${megabytes(end - piece.unclosed.at)}) would be part of it`, {
                location: { file, ...source.position(piece.unclosed.at) },
                hint: 'Close it; nothing has been run.',
            });
        }
        throw new GuardError('too-large', `Statement of ${megabytes(size)} is larger than the ${megabytes(MAX_STATEMENT_BYTES)} a single statement may have: the SQL parser needs about 65 times a statement's size in memory to split and classify it`, {
            location: { file, ...source.position(piece.firstToken < 0 ? piece.start : piece.firstToken) },
            hint: 'Split it into smaller statements (for example INSERTs of fewer rows each; a file may hold any number of them), ' +
                'or load the data outside the migration (COPY, psql). Nothing has been run.',
        });
    }
    function syntaxError(error, from, to) {
        const details = error.sqlDetails;
        if (!details) {
            // Not a syntax error (the parser itself failed): say so rather than blame the SQL.
            return new GuardError('parse-error', `The SQL parser failed on the ${megabytes(to - from)} of SQL starting here: ${error.message}`, {
                location: { file, ...source.position(from) },
                hint: 'This is not known to be an error in the file: split the file and report the problem. Nothing has been run.',
                cause: error,
            });
        }
        // cursorPosition counts characters (code points) from the start of the text parsed.
        const at = source.byteOffsetOfChar(from, details.cursorPosition, to);
        // Where the parser stopped at a psql meta-command (or the data of a COPY … FROM stdin), say so.
        const psqlFeature = psqlFeatureError(parser, source, start, at, file);
        if (psqlFeature)
            return psqlFeature;
        return new GuardError('parse-error', `SQL syntax error: ${error.message}`, {
            location: { file, ...source.position(at) },
            hint: 'Fix the statement at this position; nothing has been run.',
            cause: error,
        });
    }
}
function megabytes(bytes) {
    const mb = bytes / (1024 * 1024);
    return `${mb >= 10 ? Math.round(mb) : Math.round(mb * 10) / 10} MB`;
}

;// CONCATENATED MODULE: ./src/migrations/transaction-blocks.ts

/**
 * Every statement of a file already runs inside the runner's transaction, so a balanced
 * `BEGIN … COMMIT` (or `START TRANSACTION … END`) block asks for nothing more: its statements
 * run where they stand and commit with the file. What the runner cannot honour is refused before
 * anything runs, naming the line: ROLLBACK (it would discard the run's work, not the block's),
 * a COMMIT without BEGIN, a BEGIN without COMMIT or inside another block, two-phase commit, and a
 * statement inside a block that cannot run in a transaction at all. Savepoints pass unchanged.
 */
function absorbTransactionBlocks(statements, file, beginOptions = new Map()) {
    const blocks = [];
    let open;
    for (const statement of statements) {
        switch (statement.transactionControl) {
            case 'begin':
                if (open)
                    throw nestedBegin(statement, open, file);
                open = statement;
                break;
            case 'commit':
                if (!open)
                    throw commitWithoutBegin(statement, file);
                blocks.push({ begin: open, end: statement });
                open = undefined;
                break;
            case 'chain':
                // COMMIT AND CHAIN ends one block and opens the next at once: inside our transaction, both
                // are the same transaction, so the block simply goes on.
                if (!open)
                    throw commitWithoutBegin(statement, file);
                break;
            case 'rollback':
                throw refused(statement, file, `${keywordOf(statement)} inside a migration: the runner owns the transaction, so a ROLLBACK here would discard the work of the whole run (or of a block it cannot undo on its own), not just the statements before it`, 'Remove it; to undo part of a file conditionally, use SAVEPOINT … ROLLBACK TO SAVEPOINT.');
            case 'prepared':
                throw refused(statement, file, `${keywordOf(statement)} inside a migration: two-phase commit hands a transaction over to a later COMMIT PREPARED, while the runner owns the migration's transaction and commits it itself`, 'Remove it.');
            default:
                break;
        }
    }
    if (open) {
        throw refused(open, file, `${keywordOf(open)} without a matching COMMIT: the transaction block it opens is never closed`, `Add COMMIT; where the block ends, or remove the ${keywordOf(open)}.`);
    }
    const wrapped = blocks.length === 1 &&
        blocks[0].begin === statements[0] &&
        blocks[0].end === statements[statements.length - 1];
    for (const { begin, end } of blocks) {
        const inside = statements.slice(statements.indexOf(begin) + 1, statements.indexOf(end));
        const outside = inside.find((s) => s.nonTransactional);
        if (!outside)
            continue;
        const where = wrapped
            ? 'the BEGIN … COMMIT this file wraps itself in'
            : `the BEGIN … COMMIT block of lines ${begin.line}–${end.line}`;
        throw new GuardError('transaction-control', `${outside.nonTransactional} cannot run inside ${where}`, {
            location: { file, line: outside.line, column: outside.column },
            hint: wrapped
                ? 'Move the statement to its own migration file without BEGIN/COMMIT. Nothing has been run.'
                : 'Move the statement out of the block (or to its own migration file). Nothing has been run.',
        });
    }
    const control = new Set(['begin', 'commit', 'chain']);
    return {
        statements: statements.filter((s) => !control.has(s.transactionControl)),
        wrapped,
        absorbed: wrapped
            ? []
            : blocks.map(({ begin, end }) => ({
                beginLine: begin.line,
                endLine: end.line,
                keywords: `${keywordOf(begin)} … ${keywordOf(end)}`,
                ignoredOptions: beginOptions.get(begin),
            })),
    };
}
/** The report's note on a block that was absorbed. */
function describeAbsorbedBlock(block) {
    const options = block.ignoredOptions ? ` (its options "${block.ignoredOptions}" do not apply)` : '';
    return `${block.keywords} block at lines ${block.beginLine}–${block.endLine} absorbed: it runs inside the migration's transaction and commits with it, not on its own${options}`;
}
/** How the file's PostgreSQL parse tree names a transaction statement, for `Statement.transactionControl`. */
function transactionKind(node) {
    switch (node.kind) {
        case 'TRANS_STMT_BEGIN':
        case 'TRANS_STMT_START':
            return 'begin';
        case 'TRANS_STMT_COMMIT':
            return node.chain ? 'chain' : 'commit';
        case 'TRANS_STMT_SAVEPOINT':
        case 'TRANS_STMT_RELEASE':
        case 'TRANS_STMT_ROLLBACK_TO':
            return 'savepoint';
        case 'TRANS_STMT_ROLLBACK':
            return 'rollback';
        default:
            return 'prepared';
    }
}
/** A BEGIN's options as written (`isolation level serializable`), when it has any. */
function beginOptionsOf(node, sql) {
    if (transactionKind(node) !== 'begin' || !Array.isArray(node.options) || node.options.length === 0)
        return undefined;
    return sql.replace(/^(begin|start\s+transaction)(\s+(work|transaction)\b)?\s*/i, '') || undefined;
}
function nestedBegin(statement, open, file) {
    return refused(statement, file, `${keywordOf(statement)} inside the transaction block opened at line ${open.line}: PostgreSQL does not nest transactions (it ignores this ${keywordOf(statement)}, and the first COMMIT ends both)`, `Remove this ${keywordOf(statement)}, or close the block of line ${open.line} with COMMIT first.`);
}
function commitWithoutBegin(statement, file) {
    return refused(statement, file, `${keywordOf(statement)} without a BEGIN before it: the runner owns the transaction, so a COMMIT here would commit the first part of the file on its own and break the all-or-nothing guarantee`, 'Remove it, or open the block it closes with BEGIN.');
}
function refused(statement, file, message, hint) {
    return new GuardError('transaction-control', message, {
        location: { file, line: statement.line, column: statement.column },
        hint: `${hint} Nothing has been run.`,
    });
}
/** `BEGIN`, `START TRANSACTION`, `END`, `ABORT`, `PREPARE TRANSACTION`, `COMMIT PREPARED`, … as written. */
function keywordOf(statement) {
    const [first = '', second = '', third = ''] = (statement.sql.match(/[a-z]+/gi) ?? []).map((w) => w.toUpperCase());
    if (first === 'START' || first === 'PREPARE' || second === 'PREPARED')
        return `${first} ${second}`;
    if (second === 'AND')
        return `${first} AND ${third === 'NO' ? 'NO ' : ''}CHAIN`;
    return first;
}

;// CONCATENATED MODULE: ./src/migrations/statements.ts





/**
 * Splits part of a file (bytes start..end of `source`) into statements with the real PostgreSQL
 * parser, and classifies each. Errors name file:line:column.
 */
async function splitStatements(source, start, end, file) {
    return splitStatementsWith(await loadParser(), source, start, end, file);
}
/** `splitStatements` with the parser already loaded: synchronous, so parsing can be interleaved with server work. */
function splitStatementsWith(parser, source, start, end, file) {
    // Piece by piece, so a large file never reaches the parser whole; the pieces are parsed as the
    // loop below takes them, and their errors (syntax, psql features, size) are GuardErrors naming
    // file:line:column (parse-pieces.ts). A file with nothing in it is a no-op migration.
    const parsed = parseInPieces(parser, source, start, end, file);
    const statements = [];
    const beginOptions = new Map();
    let previousEnd = start;
    for (const raw of parsed.stmts ?? []) {
        const location = start + (raw.stmt_location ?? 0);
        const stmtEnd = raw.stmt_len ? location + raw.stmt_len : end;
        const [nodeType, node] = Object.entries(raw.stmt)[0];
        if (isCopyFromStdin(nodeType, node))
            throw copyFromStdinError(file, source.position(location));
        const text = source.slice(location, stmtEnd).trim();
        const history = source.slice(previousEnd, stmtEnd).replace(/^\s*;/, '').trim();
        statements.push({
            sql: text,
            // One string when both are the same (no comment before the statement): a data file holds many.
            historyText: history === text ? text : history,
            startByte: location,
            ...source.position(location),
            nodeType,
            nonTransactional: nonTransactionalReason(nodeType, node),
            addsEnumValue: nodeType === 'AlterEnumStmt' ? enumAddition(node) : undefined,
            transactionControl: nodeType === 'TransactionStmt' ? transactionKind(node) : undefined,
            touchesTimeouts: timeoutChange(nodeType, node, text),
        });
        const options = nodeType === 'TransactionStmt' ? beginOptionsOf(node, text) : undefined;
        if (options)
            beginOptions.set(statements[statements.length - 1], options);
        previousEnd = stmtEnd;
    }
    const { absorbed, ...split } = absorbTransactionBlocks(statements, file, beginOptions);
    return absorbed.length > 0 ? { ...split, absorbed } : split;
}
function enumAddition(node) {
    // RENAME VALUE (oldVal set) is transaction-safe; only ADD VALUE creates an unusable-until-commit value.
    if (typeof node.newVal !== 'string' || node.oldVal !== undefined)
        return undefined;
    const names = node.typeName ?? [];
    return { type: names.map((n) => n.String?.sval ?? '').join('.'), value: node.newVal };
}
function hasConcurrentlyOption(node) {
    const params = node.params ?? [];
    return params.some((p) => p.DefElem?.defname === 'concurrently');
}
/** PostgreSQL refuses these inside a transaction block (error 25001). */
function nonTransactionalReason(nodeType, node) {
    switch (nodeType) {
        case 'IndexStmt':
            return node.concurrent ? 'CREATE INDEX CONCURRENTLY' : undefined;
        case 'DropStmt':
            return node.concurrent ? 'DROP INDEX CONCURRENTLY' : undefined;
        case 'ReindexStmt':
            if (hasConcurrentlyOption(node))
                return 'REINDEX CONCURRENTLY';
            return node.kind === 'REINDEX_OBJECT_DATABASE' || node.kind === 'REINDEX_OBJECT_SYSTEM'
                ? 'REINDEX DATABASE/SYSTEM'
                : undefined;
        case 'VacuumStmt':
            return node.is_vacuumcmd ? 'VACUUM' : undefined;
        case 'AlterSystemStmt':
            return 'ALTER SYSTEM';
        case 'CreatedbStmt':
            return 'CREATE DATABASE';
        case 'DropdbStmt':
            return 'DROP DATABASE';
        case 'CreateTableSpaceStmt':
            return 'CREATE TABLESPACE';
        case 'DropTableSpaceStmt':
            return 'DROP TABLESPACE';
        case 'ClusterStmt':
            return node.relation ? undefined : 'CLUSTER (all tables)';
        case 'CreateSubscriptionStmt':
            return 'CREATE SUBSCRIPTION';
        case 'DropSubscriptionStmt':
            return 'DROP SUBSCRIPTION';
        case 'AlterDatabaseStmt': {
            const options = node.options ?? [];
            return options.some((o) => o.DefElem?.defname === 'tablespace')
                ? 'ALTER DATABASE … SET TABLESPACE'
                : undefined;
        }
        case 'AlterTableStmt': {
            const cmds = node.cmds ?? [];
            const detach = cmds.some((c) => {
                const partition = c.AlterTableCmd?.def?.PartitionCmd;
                return c.AlterTableCmd?.subtype === 'AT_DetachPartition' && partition?.concurrent;
            });
            return detach ? 'ALTER TABLE … DETACH PARTITION CONCURRENTLY' : undefined;
        }
        default:
            return undefined;
    }
}

;// CONCATENATED MODULE: ./src/engine/enum-use.ts

/**
 * Whether SQL text mentions an enum value as a quoted literal ('it''s' for it's). Cheap and
 * generous: it also matches text in comments, strings and function bodies. Deciding when to
 * commit a file early (units.ts), a false match costs only an extra commit.
 */
function mentionsEnumValue(sql, value) {
    return sql.includes(literalOf(value));
}
function literalOf(value) {
    return `'${value.replace(/'/g, "''")}'`;
}
/**
 * PostgreSQL refuses to use an enum value in the transaction that added it (SQLSTATE 55P04),
 * unless the type itself was created in that transaction. A file that adds a value and then uses
 * it (or whose verify script does) therefore fails in any transaction mode, and in per-file mode
 * only after the files before it have committed; the per-file rehearsal cannot tell (every added
 * value is unusable there). It is refused here, before anything runs, naming both lines.
 *
 * Refusing a valid file would block a release with no way around it, so a mention counts as a use
 * only where PostgreSQL reads the value as a constant when the statement runs: a string constant
 * of the statement itself, the body of a DO block, or a LANGUAGE sql function body (analysed when
 * created). A PL/pgSQL body or a comment only mentions it.
 */
function refuseEnumUseInSameTransaction(parser, item) {
    if (!item.statements.some((s) => s.addsEnumValue))
        return;
    const { up, verify } = item.migration;
    const sequence = [
        ...item.statements.map((statement) => ({ statement, path: up.path })),
        ...(verify ? (item.verify ?? []).map((statement) => ({ statement, path: verify.path })) : []),
    ];
    const createdTypes = new Set();
    const added = new Map();
    for (const { statement, path } of sequence) {
        if (statement.nonTransactional) {
            // It runs on its own, so everything before it has committed.
            createdTypes.clear();
            added.clear();
        }
        else if (statement.nodeType === 'CreateEnumStmt') {
            createdTypes.add(createdEnumType(parser, statement.sql));
        }
        else if (statement.addsEnumValue) {
            const { type, value } = statement.addsEnumValue;
            if (!createdTypes.has(unqualified(type)))
                added.set(value, statement);
        }
        else {
            for (const [value, addition] of added) {
                if (!mentionsEnumValue(statement.sql, value) || !usesValue(parser, statement.sql, value))
                    continue;
                throw usedTooEarly(item, { statement, path }, addition, value);
            }
        }
    }
}
function usedTooEarly(item, use, addition, value) {
    const { up } = item.migration;
    const literal = literalOf(value);
    const addedAt = use.path === up.path ? `line ${addition.line}` : `${up.path}:${addition.line}`;
    const block = item.absorbed?.find((b) => b.beginLine <= addition.line && addition.line <= b.endLine);
    const blockNote = block
        ? ` (the ${block.keywords} block of lines ${block.beginLine}–${block.endLine} does not commit on its own: it runs inside the file's transaction)`
        : '';
    return new GuardError('transaction-control', `enum value ${literal} is used here in the same transaction that adds it (ALTER TYPE … ADD VALUE at ${addedAt})${blockNote}: PostgreSQL refuses that (SQLSTATE 55P04, unsafe use of new enum value), so this migration would fail in either transaction mode`, {
        location: { file: use.path, line: use.statement.line, column: use.statement.column },
        sqlstate: '55P04',
        hint: `Split the migration after line ${addition.line} of ${up.path}: keep the ADD VALUE there and move the statements that use ${literal}` +
            `${use.path === up.path ? ` (from line ${use.statement.line} on)` : ' and this verify script'} into a new migration file with a later version. ` +
            'Each file then commits before the next one uses its values. Nothing has been run.',
    });
}
/** Whether PostgreSQL reads `value` as a constant when `sql` runs (see refuseEnumUseInSameTransaction). */
function usesValue(parser, sql, value) {
    const literal = literalOf(value);
    const visit = (node) => {
        if (Array.isArray(node))
            return node.some(visit);
        if (node === null || typeof node !== 'object')
            return false;
        const fields = node;
        const constant = fields.A_Const;
        if (constant?.sval?.sval === value)
            return true;
        const routine = (fields.DoStmt ?? fields.CreateFunctionStmt);
        if (routine && runsOrAnalysesBody(fields) && bodyText(routine).includes(literal))
            return true;
        return Object.values(fields).some(visit);
    };
    return visit(parser.parseSync(sql).stmts ?? []);
}
/** A DO block runs its body now; a function's body is analysed at creation only in LANGUAGE sql. */
function runsOrAnalysesBody(fields) {
    if (fields.DoStmt)
        return true;
    const options = fields.CreateFunctionStmt.options ?? [];
    return options.some((o) => {
        const def = o.DefElem;
        return def?.defname === 'language' && def.arg?.String?.sval?.toLowerCase() === 'sql';
    });
}
function bodyText(routine) {
    const options = (routine.args ?? routine.options) ?? [];
    const body = options
        .map((o) => o.DefElem)
        .find((def) => def?.defname === 'as')?.arg;
    // DO has one string; CREATE FUNCTION a list (a C function's is file and symbol).
    return body?.String?.sval ?? (body?.List?.items ?? []).map((item) => item.String?.sval ?? '').join('\n');
}
function createdEnumType(parser, sql) {
    const stmt = parser.parseSync(sql).stmts?.[0]?.stmt.CreateEnumStmt;
    const names = stmt?.typeName ?? [];
    return unqualified(names.map((n) => n.String?.sval ?? '').join('.'));
}
/**
 * Types are matched by their name without schema: `public.mood` created and `mood` extended in
 * the same file is taken as the same type, so such a file is never refused wrongly (the cost:
 * a same-named type in another schema is not checked).
 */
function unqualified(type) {
    return type.slice(type.lastIndexOf('.') + 1);
}

;// CONCATENATED MODULE: ./src/engine/prepare.ts





/** Parses every pending file before anything runs, so a syntax error anywhere stops the run up front. */
async function prepareMigrations(pending) {
    const parser = await loadParser();
    return pending.map((migration) => prepareMigration(parser, migration));
}
/**
 * Splits and classifies one migration and its verify script; throws a GuardError naming
 * file:line:column, also for a failure the file is certain to meet (a new enum value used in
 * the transaction that adds it).
 */
function prepareMigration(parser, migration) {
    const { up } = migration;
    const split = splitStatementsWith(parser, up.source, up.start, up.end, migration.path);
    const item = { migration, statements: split.statements, wrapped: split.wrapped };
    if (split.absorbed)
        item.absorbed = split.absorbed;
    if (migration.verify) {
        const { path, source, start, end } = migration.verify;
        const verify = splitStatementsWith(parser, source, start, end, path);
        const outside = verify.statements.find((s) => s.nonTransactional);
        if (outside) {
            throw new GuardError('parse-error', `${outside.nonTransactional} cannot run in a verify script: verify runs inside the migration's transaction`, {
                location: { file: path, line: outside.line, column: outside.column },
            });
        }
        item.verify = verify.statements;
    }
    refuseEnumUseInSameTransaction(parser, item);
    return item;
}
/** The report's notes on a prepared file (MigrationOutcome.notes), when there is anything to say. */
function notesOf(item) {
    return item.absorbed?.map(describeAbsorbedBlock);
}

;// CONCATENATED MODULE: ./src/engine/rehearse.ts



const UNSAFE_NEW_ENUM_VALUE = '55P04';
/**
 * Runs every pending statement in one transaction that is always rolled back, so a broken file
 * is found before anything commits. What cannot run in a transaction is skipped and listed. A
 * later error that may only be the consequence of a skip (it names an object a skipped statement
 * touches, or uses an enum value added in this transaction) is not a failure: the rehearsal stops
 * there and lists the rest as not rehearsed rather than failing the run on a guess.
 */
async function rehearse(units, options) {
    const { runner } = options;
    const notRehearsed = [];
    const skippedNames = new Set();
    // The transactional statements in run order, cut where a non-transactional one was skipped.
    const segments = units.map((u) => u.kind === 'transaction' ? { steps: u.steps } : { skipped: u.step });
    try {
        await runner.query(`BEGIN; ${sessionSettings(options, 'LOCAL')}`);
        for (let s = 0; s < segments.length; s++) {
            const segment = segments[s];
            if ('skipped' in segment) {
                const { migration, statement } = segment.skipped;
                notRehearsed.push(`${migration.migration.path}:${statement.line}: ${statement.nonTransactional}`);
                for (const name of identifiersIn(statement.sql))
                    skippedNames.add(name);
                continue;
            }
            // The clock readings go unused; they set the timeouts again between files (timeouts.ts).
            for (const batch of batchesFrom(segment.steps, { timeouts: options })) {
                if (batch.kind === 'record')
                    continue;
                try {
                    await runner.query(batch.sql);
                }
                catch (error) {
                    const located = locateFailure(batch, error);
                    const code = error.code;
                    const dependsOnSkipped = identifiersIn(located.step.statement.sql).some((name) => skippedNames.has(name));
                    if (dependsOnSkipped || code === UNSAFE_NEW_ENUM_VALUE) {
                        const rest = [
                            ...batch.steps.slice(batch.indices.indexOf(located.index)),
                            ...laterStatements(segments, s, batch),
                        ];
                        for (const step of rest)
                            notRehearsed.push(`${step.part.path}:${step.statement.line}: depends on a statement that cannot be rehearsed`);
                        return { notRehearsed };
                    }
                    return { failure: rehearse_failureOf(located, error), notRehearsed };
                }
            }
        }
        const deferred = await deferredConstraintFailure(runner);
        return deferred ? { failure: deferred, notRehearsed } : { notRehearsed };
    }
    finally {
        await runner.client.query('ROLLBACK').catch(() => { });
    }
}
/**
 * Deferred constraints are checked at COMMIT, which a rehearsal never reaches: they are checked
 * here instead, in the state all pending files leave behind. A violation there means some file's
 * COMMIT would fail for real. (One that a later file repairs is not seen: in per-file mode that
 * file's COMMIT still fails, and the run is reverted.) No single file can be named.
 */
async function deferredConstraintFailure(runner) {
    try {
        await runner.query('SET CONSTRAINTS ALL IMMEDIATE');
        return undefined;
    }
    catch (error) {
        if (error instanceof CancelledError)
            return { error: { message: error.message } };
        const err = error;
        return {
            error: {
                message: `a deferred constraint is violated once every pending file has run (checked at the end of the rehearsal): ${err.message}`,
                sqlstate: err.code,
                detail: err.detail,
                hint: 'A constraint declared DEFERRABLE INITIALLY DEFERRED is checked at COMMIT, so applying would fail there. Fix the file that leaves the data violating it.',
            },
        };
    }
}
function rehearse_failureOf(located, error) {
    return {
        version: located.step.migration.migration.version,
        error: describeSqlError(error, located.step, located.positionInStatement),
    };
}
/** Every statement after `batch` (within its segment and in later segments). */
function laterStatements(segments, index, batch) {
    const out = [];
    const current = segments[index];
    if ('steps' in current) {
        for (const step of current.steps.slice(batch.indices[batch.indices.length - 1] + 1))
            if (step.kind === 'statement')
                out.push(step);
    }
    for (const segment of segments.slice(index + 1)) {
        if ('skipped' in segment)
            out.push(segment.skipped);
        else
            for (const step of segment.steps)
                if (step.kind === 'statement')
                    out.push(step);
    }
    return out;
}
const KEYWORDS = new Set('create drop index concurrently if not exists on only using btree hash gist gin brin reindex table schema database system vacuum full freeze verbose analyze alter detach partition finalize cluster set tablespace subscription connection publication with without cascade restrict unique nulls distinct include where'.split(' '));
/** Lower-cased identifier-like words of a statement, SQL keywords removed. */
function identifiersIn(sql) {
    return (sql.toLowerCase().match(/[a-z_][a-z0-9_$]*/g) ?? []).filter((word) => !KEYWORDS.has(word));
}
/**
 * The rehearsal of a run that fits in one transaction (stream.ts), parsing file k+1 while the
 * server runs file k. Nothing is skipped, so nothing is listed as not rehearsed. A parse error
 * propagates (after the rollback) as the GuardError it is.
 */
async function rehearseStreamed(run, options) {
    const { runner } = options;
    try {
        await runner.query(`BEGIN; ${sessionSettings(options, 'LOCAL')}`);
        for (const batch of batchesFrom(run.steps(), { timeouts: options })) {
            if (batch.kind === 'record')
                continue;
            try {
                await runner.query(batch.sql, run.whileWaiting);
            }
            catch (error) {
                return { failure: rehearse_failureOf(locateFailure(batch, error), error), notRehearsed: [] };
            }
        }
        const deferred = await deferredConstraintFailure(runner);
        return deferred ? { failure: deferred, notRehearsed: [] } : { notRehearsed: [] };
    }
    finally {
        await runner.client.query('ROLLBACK').catch(() => { });
    }
}

;// CONCATENATED MODULE: ./src/engine/refuse.ts

/**
 * Statements that act on the whole server rather than on this database: they cannot run in a
 * transaction, no rollback or down migration of ours undoes them, and a backup of this database
 * (pg_dump) does not hold them. They have no business in a migration run, so a run that holds one
 * is refused before the backup and before anything runs. Keyed by the reason statements.ts gives.
 */
const OUT_OF_PLACE = {
    'CREATE DATABASE': 'create the database outside the migrations (for example with the platform, or psql), then point a run at it',
    'DROP DATABASE': 'drop the database outside the migrations, deliberately and by hand',
    'CREATE TABLESPACE': 'tablespaces belong to the server: create it outside the migrations',
    'DROP TABLESPACE': 'tablespaces belong to the server: drop it outside the migrations',
    'ALTER SYSTEM': 'server settings are not part of this database (pg_dump does not keep them): set them outside the migrations',
};
/** Throws a GuardError naming file:line of the first refused statement of the run. */
function refuseOutOfPlaceStatements(prepared) {
    for (const item of prepared) {
        for (const statement of item.statements) {
            const fix = statement.nonTransactional ? OUT_OF_PLACE[statement.nonTransactional] : undefined;
            if (!fix)
                continue;
            throw new GuardError('refused-statement', `${statement.nonTransactional} has no place in a migration run: it acts on the whole server, runs outside any transaction and cannot be rolled back; nothing was run`, {
                location: { file: item.migration.path, line: statement.line, column: statement.column },
                hint: `Remove the statement from ${item.migration.fileName}: ${fix}.`,
            });
        }
    }
}

;// CONCATENATED MODULE: ./src/engine/units.ts


/**
 * Cuts the run into transactions. `all` keeps everything in one transaction except where
 * PostgreSQL forbids it: a statement that cannot run in a transaction block runs on its own, and
 * a file that adds an enum value is committed before a later file that uses the value. `per-file`
 * gives each file its own transaction, with the same exceptions inside a file.
 */
function buildExecutionPlan(prepared, mode) {
    refuseOutOfPlaceStatements(prepared);
    const units = [];
    const nonAtomic = new Map();
    let open = [];
    const close = () => {
        if (open.length > 0)
            units.push({ kind: 'transaction', steps: open });
        open = [];
    };
    const note = (version, reason) => nonAtomic.set(version, [...(nonAtomic.get(version) ?? []), reason]);
    prepared.forEach((item, index) => {
        const resumeAfter = item.resumeAfter ?? 0;
        if (resumeAfter > 0) {
            const next = item.statements[resumeAfter];
            note(item.migration.version, `resumes ${next ? `at statement ${resumeAfter + 1} (line ${next.line})` : 'at its history row'}: statements 1-${resumeAfter} were committed by an earlier run`);
        }
        for (const statement of item.statements.slice(resumeAfter)) {
            const step = upStep(item, statement);
            if (statement.nonTransactional) {
                close();
                units.push({ kind: 'autocommit', step });
                note(item.migration.version, `${statement.nonTransactional} (line ${statement.line}) runs outside a transaction`);
            }
            else {
                open.push(step);
            }
        }
        open.push(...verifyAndRecordSteps(item));
        const laterUse = mode === 'all' ? enumValueUsedLater(item, prepared.slice(index + 1)) : undefined;
        if (mode === 'per-file' || laterUse)
            close();
        if (laterUse) {
            note(laterUse.version, `commits separately: enum value '${laterUse.value}' added by ${item.migration.fileName} must be committed before this file can use it`);
        }
    });
    close();
    return { units, nonAtomic };
}
/**
 * The steps of a file that runs wholly inside the open transaction, exactly as
 * `buildExecutionPlan` lays them out: statements, verify script, history row.
 */
function stepsOfAtomicFile(item) {
    return [...item.statements.map((statement) => upStep(item, statement)), ...verifyAndRecordSteps(item)];
}
function upStep(item, statement) {
    return { kind: 'statement', migration: item, statement, part: item.migration.up, role: 'up' };
}
function verifyAndRecordSteps(item) {
    const part = item.migration.verify;
    const verify = part
        ? (item.verify ?? []).map((statement) => ({
            kind: 'statement',
            migration: item,
            statement,
            part,
            role: 'verify',
        }))
        : [];
    return [...verify, { kind: 'record', migration: item }];
}
/**
 * Words without which no statement can need a transaction of its own: every statement that
 * `nonTransactionalReason` names, and `ALTER TYPE … ADD VALUE`, contains one of them as a keyword.
 * A file whose text has none (comments and strings included, so this errs towards "maybe") can be
 * run before it is parsed-and-planned with the rest: the run fits in one transaction.
 */
const MAY_LEAVE_TRANSACTION = /\b(concurrently|vacuum|reindex|cluster|system|database|tablespace|subscription|value)\b/i;
function mayNeedOwnTransaction(sqlText) {
    return MAY_LEAVE_TRANSACTION.test(sqlText);
}
/**
 * PostgreSQL refuses to use an enum value in the transaction that added it (SQLSTATE 55P04).
 * A later file "uses" the value when its text mentions it as a quoted literal; a false positive
 * costs only an extra commit.
 */
function enumValueUsedLater(item, later) {
    const values = item.statements.flatMap((s) => (s.addsEnumValue ? [s.addsEnumValue.value] : []));
    if (values.length === 0)
        return undefined;
    for (const next of later) {
        for (const value of values) {
            if (next.statements.some((s) => mentionsEnumValue(s.sql, value))) {
                return { version: next.migration.version, value };
            }
        }
    }
    return undefined;
}

;// CONCATENATED MODULE: ./src/engine/stream.ts



/**
 * Parsing the pending files costs about as much client time as the server spends running a
 * quarter of them. When the whole run fits in one transaction, it need not come first: the server
 * runs file k while the client parses file k+1, and the commit waits until every file has parsed
 * (a syntax error anywhere still leaves the database untouched: the transaction rolls back).
 *
 * `streamable` says whether the run can start before it is planned: only when no pending file
 * could hold a statement needing a transaction of its own (see `mayNeedOwnTransaction`).
 */
function streamable(pending) {
    // The whole file (a dbmate down section included): erring towards "maybe" only costs speed.
    return pending.every((m) => !mayNeedOwnTransaction(m.up.source.text));
}
const PARSE_AHEAD = 64;
/**
 * The steps of the run, produced file by file and parsed at most once. `steps()` starts over
 * (a lock-timeout retry re-runs the transaction); `whileWaiting()` parses the next unparsed file.
 * A parse error is raised when its file's turn comes, so the earlier files' work is rolled back
 * with it. A file that turns out to need its own transaction raises PlanNeededError.
 */
class StreamedRun {
    pending;
    parser;
    onAllParsed;
    prepared = [];
    producedSteps = [];
    failedToParse = false;
    handedOut = 0;
    constructor(pending, parser, 
    /** Called once, as soon as every file has parsed without error. */
    onAllParsed) {
        this.pending = pending;
        this.parser = parser;
        this.onAllParsed = onAllParsed;
        this.whileWaiting = this.whileWaiting.bind(this);
    }
    *steps() {
        this.producedSteps = [];
        for (let index = 0; index < this.pending.length; index++) {
            this.handedOut = index + 1;
            const item = this.item(index);
            if (item.statements.some((s) => s.nonTransactional || s.addsEnumValue)) {
                throw new PlanNeededError(item.migration.version);
            }
            for (const step of stepsOfAtomicFile(item)) {
                this.producedSteps.push(step);
                yield step;
            }
        }
    }
    /** The steps produced by the latest `steps()` pass. */
    produced() {
        return this.producedSteps;
    }
    /** Parses ahead of the files handed out so far, by about one message's worth (batches.ts). */
    whileWaiting() {
        const target = Math.min(this.pending.length, this.handedOut + PARSE_AHEAD);
        while (this.prepared.length < target)
            this.parse(this.prepared.length);
    }
    /** The files parsed so far (without errors), in order. */
    parsed() {
        return this.prepared.filter((entry) => !('error' in entry));
    }
    /** Every pending file, parsed (throws the first parse error): for reports and for planning. */
    all() {
        return this.pending.map((_, index) => this.item(index));
    }
    item(index) {
        while (this.prepared.length <= index)
            this.parse(this.prepared.length);
        const entry = this.prepared[index];
        if ('error' in entry)
            throw entry.error;
        return entry;
    }
    parse(index) {
        try {
            this.prepared[index] = prepareMigration(this.parser, this.pending[index]);
        }
        catch (error) {
            this.prepared[index] = { error };
            this.failedToParse = true;
        }
        if (index === this.pending.length - 1 && !this.failedToParse)
            this.onAllParsed?.();
    }
}

;// CONCATENATED MODULE: ./src/engine/staged-apply/files.ts



/**
 * What the report says about each pending file (statements, atomicity, notes) and the timeout
 * settings found in them, as the run learns it: a streamed run knows only the files parsed so
 * far, a planned one all of them. Logs what it learns once.
 */
class FileReports {
    logger;
    settings;
    rows = [];
    timeoutFindings = [];
    constructor(logger, settings) {
        this.logger = logger;
        this.settings = settings;
    }
    /** A streamed run starts before its files are parsed: one row per file, statements not yet counted. */
    unparsed(pending) {
        this.rows = pending.map((m) => describeFile(m, 0, undefined));
    }
    /** Plans the run from the parsed files, and describes every file from them. */
    plan(prepared) {
        const execution = buildExecutionPlan(prepared, this.settings.transactionMode);
        const previous = new Map(this.rows.map((m) => [m.version, m]));
        this.rows = prepared.map((p) => {
            const fresh = describeFile(p.migration, p.statements.length, execution.nonAtomic.get(p.migration.version));
            const notes = notesOf(p);
            if (notes)
                fresh.notes = notes;
            const known = previous.get(p.migration.version);
            return known
                ? {
                    ...known,
                    statements: fresh.statements,
                    atomic: fresh.atomic,
                    nonAtomicReasons: fresh.nonAtomicReasons,
                    ...(notes && { notes }),
                }
                : fresh;
        });
        for (const m of this.rows.filter((o) => !o.atomic))
            this.logger.warn(`${m.file} is not atomic: ${m.nonAtomicReasons.join('; ')}`);
        for (const m of this.rows)
            for (const note of m.notes ?? [])
                this.logger.info(`${m.file}: ${note}`);
        this.noteTimeouts(prepared);
        return execution;
    }
    /** After a streamed run stopped: what the files parsed so far tell the report. */
    counted(parsed) {
        const byVersion = new Map(parsed.map((p) => [p.migration.version, p]));
        this.rows = this.rows.map((m) => {
            const item = byVersion.get(m.version);
            if (!item)
                return m;
            const notes = notesOf(item);
            return { ...m, statements: item.statements.length, ...(notes && { notes }) };
        });
        this.noteTimeouts(parsed);
    }
    /** The timeout findings of `prepared` replace the earlier ones (the files are known better now); new ones are logged. */
    noteTimeouts(prepared) {
        const before = new Set(this.timeoutFindings.map((f) => f.message));
        this.timeoutFindings = timeoutFindings(prepared, this.settings);
        for (const f of this.timeoutFindings)
            if (!before.has(f.message))
                this.logger.warn(f.message);
    }
}
function describeFile(migration, statements, nonAtomic) {
    return {
        version: migration.version,
        name: migration.name,
        file: migration.path,
        status: 'not-run',
        durationMs: 0,
        statements,
        atomic: !nonAtomic || nonAtomic.length === 0,
        nonAtomicReasons: nonAtomic ?? [],
    };
}

;// CONCATENATED MODULE: ./src/migrations/checksum.ts

const BOM = Buffer.from([0xef, 0xbb, 0xbf]);
const CRLF = Buffer.from('\r\n');
/**
 * The checksum of a file's bytes, not of its decoded text: decoding hides byte changes (two
 * different invalid bytes both decode to U+FFFD). Line endings and a byte-order mark are editor
 * accidents, not changes: a leading BOM is dropped and CRLF counts as LF, the rules the checksum
 * always had on text, so a valid UTF-8 file keeps its checksum. The pieces between CRLFs are
 * hashed in place: no copy of a large file is made.
 */
function checksumOfBytes(bytes) {
    const data = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const hash = (0,external_node_crypto_.createHash)('sha256');
    let from = data.subarray(0, 3).equals(BOM) ? 3 : 0;
    for (let cr = data.indexOf(CRLF, from); cr !== -1; cr = data.indexOf(CRLF, from)) {
        hash.update(data.subarray(from, cr));
        from = cr + 1; // keep the LF
    }
    hash.update(data.subarray(from));
    return hash.digest('hex');
}
/** The same checksum for text already in memory (its UTF-8 bytes). */
function checksumOf(text) {
    return checksumOfBytes(Buffer.from(text, 'utf8'));
}

;// CONCATENATED MODULE: ./src/migrations/folder-entries.ts


/**
 * Sorts a folder's entries into what can be read and what cannot, following symbolic links (a
 * linked migration is a migration). An entry that is not a file is reported with what it is.
 */
async function sortEntries(dir, entries, looksLikeMigration) {
    const sorted = { files: [], skipped: [], broken: [] };
    for (const entry of [...entries].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
        const reason = entry.isFile() ? undefined : await notAFile(dir, entry);
        if (reason === undefined)
            sorted.files.push(entry.name);
        else
            (looksLikeMigration(entry.name) ? sorted.broken : sorted.skipped).push({
                fileName: entry.name,
                reason,
            });
    }
    return sorted;
}
/** What an entry is when it is not a regular file (undefined for a link to one). */
async function notAFile(dir, entry) {
    if (entry.isDirectory())
        return 'a directory (sub-folders are not read)';
    if (!entry.isSymbolicLink())
        return `not a regular file (${kindOf(entry)})`;
    const path = (0,external_node_path_namespaceObject.join)(dir, entry.name);
    const target = await (0,promises_namespaceObject.readlink)(path).catch(() => '?');
    try {
        const info = await (0,promises_namespaceObject.stat)(path);
        if (info.isFile())
            return undefined;
        if (info.isDirectory())
            return `a symbolic link to a directory (${target}); sub-folders are not read`;
        return `a symbolic link to something that is not a regular file (${target})`;
    }
    catch (error) {
        const code = error.code;
        if (code === 'ENOENT')
            return `a symbolic link to ${target}, which does not exist`;
        if (code === 'ELOOP')
            return `a symbolic link that loops (${target})`;
        return `a symbolic link to ${target}, which cannot be read (${code ?? String(error)})`;
    }
}
function kindOf(entry) {
    if (entry.isFIFO())
        return 'a named pipe';
    if (entry.isSocket())
        return 'a socket';
    if (entry.isCharacterDevice() || entry.isBlockDevice())
        return 'a device';
    return 'unknown type';
}

// EXTERNAL MODULE: external "node:buffer"
var external_node_buffer_ = __nccwpck_require__(4573);
;// CONCATENATED MODULE: ./src/migrations/read-sql.ts



const read_sql_BOM = Buffer.from([0xef, 0xbb, 0xbf]);
/**
 * Reads a SQL file exactly: the BOM is not SQL (dropping it keeps byte offsets aligned with what the
 * parser sees); bytes that are not UTF-8, which decoding would silently turn into U+FFFD, and NUL
 * bytes, at which the parser and the wire protocol would silently stop reading, are refused with
 * their line. Read synchronously: hundreds of small files through the thread pool (open, fstat,
 * read, close, each a callback) cost ~60 ms of a no-op run, against ~10 ms in one go.
 */
function readSqlFile(absolute, path) {
    let raw;
    try {
        raw = (0,external_node_fs_.readFileSync)(absolute);
    }
    catch (error) {
        const reason = error.code ?? String(error);
        throw new GuardError('migrations-dir', `Cannot read ${path}: ${READ_FAILURES[reason] ?? reason}`, {
            location: { file: path },
            hint: 'Make the file readable by this user (or remove it), then run again. Nothing was run.',
            cause: error,
        });
    }
    const bytes = raw.subarray(0, 3).equals(read_sql_BOM) ? raw.subarray(3) : raw;
    const bad = (0,external_node_buffer_.isUtf8)(bytes) ? bytes.indexOf(0) : firstInvalidUtf8(bytes);
    if (bad !== -1)
        throw notText(bytes, bad, raw.length - bytes.length, path);
    return { bytes, text: bytes.toString('utf8') };
}
const READ_FAILURES = {
    EACCES: 'permission denied',
    EPERM: 'permission denied',
    EISDIR: 'it is a directory, not a file',
    ENOENT: 'it disappeared while the folder was being read',
    ELOOP: 'its symbolic links form a loop',
};
/**
 * Offset of the first byte that does not start a valid UTF-8 sequence (RFC 3629: no overlong
 * forms, no surrogates, nothing above U+10FFFF), or of the first NUL byte; -1 when there is none.
 */
function firstInvalidUtf8(bytes) {
    for (let i = 0; i < bytes.length;) {
        const b = bytes[i];
        if (b === 0)
            return i;
        if (b < 0x80) {
            i++;
            continue;
        }
        const length = b >= 0xc2 && b <= 0xdf ? 2 : b >= 0xe0 && b <= 0xef ? 3 : b >= 0xf0 && b <= 0xf4 ? 4 : 0;
        if (length === 0 || i + length > bytes.length)
            return i;
        // The second byte's range is narrower after E0, ED, F0 and F4 (overlongs, surrogates, > U+10FFFF).
        const low = b === 0xe0 ? 0xa0 : b === 0xf0 ? 0x90 : 0x80;
        const high = b === 0xed ? 0x9f : b === 0xf4 ? 0x8f : 0xbf;
        if (bytes[i + 1] < low || bytes[i + 1] > high)
            return i;
        for (let k = 2; k < length; k++)
            if ((bytes[i + k] & 0xc0) !== 0x80)
                return i;
        i += length;
    }
    return -1;
}
function notText(bytes, offset, bomLength, path) {
    const lineStart = bytes.lastIndexOf(0x0a, offset - 1) + 1;
    let line = 1;
    for (let i = bytes.indexOf(0x0a); i !== -1 && i < offset; i = bytes.indexOf(0x0a, i + 1))
        line++;
    const column = Array.from(bytes.subarray(lineStart, offset).toString('utf8')).length + 1;
    const shown = [...bytes.subarray(offset, offset + 4)]
        .map((b) => `0x${b.toString(16).toUpperCase().padStart(2, '0')}`)
        .join(' ');
    const where = `line ${line}, column ${column} (byte offset ${offset + bomLength} in the file: ${shown})`;
    if (bytes[offset] === 0) {
        return new GuardError('parse-error', `A NUL byte at ${where}: it is not a SQL text file, and PostgreSQL would stop reading the statement there. Nothing was run.`, {
            location: { file: path, line, column },
            hint: 'Remove the NUL byte (a file saved as UTF-16 is full of them: save it as UTF-8).',
        });
    }
    return new GuardError('parse-error', `Not valid UTF-8 at ${where}. PostgreSQL and psql refuse such a file; running it with the byte replaced would change the SQL, so nothing was run.`, {
        location: { file: path, line, column },
        hint: `Save the file as UTF-8. A byte such as 0xE9 usually means Latin-1 or Windows-1252: iconv -f WINDOWS-1252 -t UTF-8 ${path} converts it.`,
    });
}

;// CONCATENATED MODULE: ./src/migrations/sections.ts
const MARKER = /^--\s*migrate:(up|down)\b[^\n]*$/gm;
function findSections(text) {
    const markers = [...text.matchAll(MARKER)].map((m) => ({
        kind: m[1],
        start: m.index,
        end: m.index + m[0].length,
    }));
    if (markers.length === 0)
        return undefined;
    const ups = markers.filter((m) => m.kind === 'up');
    const downs = markers.filter((m) => m.kind === 'down');
    const lineOf = (offset) => text.slice(0, offset).split('\n').length;
    if (ups.length !== 1 || downs.length > 1) {
        const extra = ups.length !== 1 ? (ups[1] ?? markers[0]) : downs[1];
        return {
            error: 'expected exactly one "-- migrate:up" and at most one "-- migrate:down" marker',
            line: lineOf(extra.start),
        };
    }
    const up = ups[0];
    const down = downs[0];
    if (down && down.start < up.start) {
        return { error: '"-- migrate:down" must come after "-- migrate:up"', line: lineOf(down.start) };
    }
    if (text.slice(0, up.start).trim() !== '') {
        return { error: 'SQL before "-- migrate:up" would belong to neither direction', line: 1 };
    }
    return {
        up: { start: up.end, end: down ? down.start : text.length },
        down: down ? { start: down.end, end: text.length } : undefined,
    };
}

;// CONCATENATED MODULE: ./src/migrations/source-text.ts
/**
 * A migration file's text with the byte-offset bookkeeping the parser needs: libpg-query reports
 * UTF-8 byte offsets, users want 1-based line:column in characters. "Character" means a Unicode
 * code point, as PostgreSQL counts them in error positions (an emoji is one character, not two).
 */
class SourceText {
    encoded;
    decoded;
    lines;
    /** Nothing is computed up front: a run with nothing pending reads files only to checksum them. */
    constructor(text) {
        this.decoded = text;
    }
    /**
     * Once the bytes exist (the parser works on them), the string is let go and decoded again only
     * if asked for: a 100 MB data file with one non-ASCII character is a 200 MB string in V8.
     */
    get text() {
        return this.decoded ?? this.bytes.toString('utf8');
    }
    get bytes() {
        if (!this.encoded) {
            this.encoded = Buffer.from(this.text, 'utf8');
            this.decoded = undefined;
        }
        return this.encoded;
    }
    /** Length in UTF-8 bytes, without encoding the text. */
    get byteLength() {
        return this.encoded ? this.encoded.length : Buffer.byteLength(this.text, 'utf8');
    }
    get lineStarts() {
        if (!this.lines) {
            const bytes = this.bytes;
            const starts = [0];
            for (let i = bytes.indexOf(0x0a); i !== -1; i = bytes.indexOf(0x0a, i + 1))
                starts.push(i + 1);
            this.lines = starts;
        }
        return this.lines;
    }
    slice(startByte, endByte) {
        return this.bytes.subarray(startByte, endByte).toString('utf8');
    }
    /** 1-based line and column (in characters) of a byte offset. */
    position(byteOffset) {
        let lo = 0;
        let hi = this.lineStarts.length - 1;
        while (lo < hi) {
            const mid = (lo + hi + 1) >> 1;
            if (this.lineStarts[mid] <= byteOffset)
                lo = mid;
            else
                hi = mid - 1;
        }
        const column = codePointLength(this.bytes.subarray(this.lineStarts[lo], byteOffset).toString('utf8')) + 1;
        return { line: lo + 1, column };
    }
    /** Byte offset of a code-point offset inside the substring that starts at `startByte`. */
    byteOffsetOfChar(startByte, charOffset, endByte = this.bytes.length) {
        let bytes = 0;
        let seen = 0;
        for (const char of this.slice(startByte, endByte)) {
            if (seen++ >= charOffset)
                break;
            bytes += Buffer.byteLength(char, 'utf8');
        }
        return startByte + bytes;
    }
}
function codePointLength(text) {
    return Array.from(text).length;
}

;// CONCATENATED MODULE: ./src/migrations/discover.ts








/** Same pattern as the Supabase CLI: leading digits, underscore, name, `.sql`. */
const MIGRATION_FILE = /^(\d+)_(.*)\.sql$/;
const COMPANION = /^(\d+)_(.*)\.(down|verify)\.sql$/;
const YIELD_EVERY_FILES = 25;
/** Reads a migrations folder: ordered migrations with their down/verify companions, and what was skipped. */
async function discoverMigrations(dir, cwd = process.cwd()) {
    let entries;
    try {
        if (!(await (0,promises_namespaceObject.stat)(dir)).isDirectory())
            throw new Error('not a directory');
        entries = await (0,promises_namespaceObject.readdir)(dir, { withFileTypes: true });
    }
    catch {
        throw new GuardError('migrations-dir', `Migrations directory "${dir}" does not exist or is not a directory`, {
            hint: 'Set migrations-dir to the folder holding <version>_<name>.sql files (default supabase/migrations), relative to the repository root.',
        });
    }
    const display = (name) => {
        const absolute = (0,external_node_path_namespaceObject.resolve)(cwd, dir, name);
        const rel = (0,external_node_path_namespaceObject.relative)(cwd, absolute);
        return rel.startsWith('..') || (0,external_node_path_namespaceObject.isAbsolute)(rel) ? absolute : rel;
    };
    const sorted = await sortEntries(dir, entries, (name) => MIGRATION_FILE.test(name) || COMPANION.test(name));
    if (sorted.broken.length > 0) {
        const list = sorted.broken.map((b) => `  ${display(b.fileName)}: ${b.reason}`).join('\n');
        throw new GuardError('migrations-dir', `Entries named like migrations are not files that can be read:\n${list}\nNothing was run: skipping them would apply the migrations around them as if they did not exist.`, {
            hint: 'Replace each with the SQL file it should be (a symbolic link must point to an existing file), or rename it so it no longer looks like <version>_<name>.sql.',
        });
    }
    const files = sorted.files;
    const skipped = [...sorted.skipped];
    const companions = new Map();
    const ups = [];
    for (const fileName of files) {
        const companion = COMPANION.exec(fileName);
        if (companion) {
            const key = `${companion[1]}_${companion[2]}`;
            const entry = companions.get(key) ?? {};
            entry[companion[3]] = fileName;
            companions.set(key, entry);
            continue;
        }
        const match = MIGRATION_FILE.exec(fileName);
        if (match)
            ups.push({ version: match[1], name: match[2], fileName });
        else
            skipped.push({ fileName, reason: 'name does not match <version>_<name>.sql' });
    }
    const byVersion = new Map();
    for (const up of ups)
        byVersion.set(up.version, [...(byVersion.get(up.version) ?? []), up.fileName]);
    const duplicates = [...byVersion.entries()].filter(([, names]) => names.length > 1);
    if (duplicates.length > 0) {
        const list = duplicates
            .map(([v, names]) => `  version ${v}: ${names.map(display).join(', ')}`)
            .join('\n');
        throw new GuardError('duplicate-version', `Duplicate migration versions:\n${list}`, {
            hint: 'Each version may appear in one file only: rename one of them with a new timestamp.',
        });
    }
    const migrations = [];
    for (const [index, { version, name, fileName }] of ups.entries()) {
        // Reading is synchronous (faster than one promise per file); pausing now and then lets a
        // connection that opens meanwhile (session.ts) take its next step.
        if (index > 0 && index % YIELD_EVERY_FILES === 0)
            await new Promise((r) => setImmediate(r));
        const key = `${version}_${name}`;
        const extra = companions.get(key);
        companions.delete(key);
        migrations.push(loadMigration(dir, version, name, fileName, extra ?? {}, display));
    }
    for (const [, orphan] of companions) {
        for (const fileName of [orphan.down, orphan.verify].filter((f) => !!f)) {
            skipped.push({ fileName, reason: 'companion file without a matching <version>_<name>.sql' });
        }
    }
    migrations.sort((a, b) => compareVersions(a.version, b.version));
    return { dir, migrations, skipped };
}
function loadMigration(dir, version, name, fileName, extra, display) {
    const path = display(fileName);
    const { bytes, text } = readSqlFile((0,external_node_path_namespaceObject.join)(dir, fileName), path);
    const source = new SourceText(text);
    const sections = findSections(text);
    if (sections && 'error' in sections) {
        throw new GuardError('parse-error', sections.error, { location: { file: path, line: sections.line } });
    }
    const byteOf = (charOffset) => Buffer.byteLength(text.slice(0, charOffset), 'utf8');
    const migration = {
        version,
        name,
        fileName,
        path,
        checksum: checksumOfBytes(bytes),
        up: sections
            ? { path, source, start: byteOf(sections.up.start), end: byteOf(sections.up.end) }
            : { path, source, start: 0, end: source.byteLength },
    };
    if (sections?.down) {
        migration.down = {
            kind: 'section',
            path,
            source,
            start: byteOf(sections.down.start),
            end: byteOf(sections.down.end),
        };
    }
    if (extra.down) {
        if (migration.down) {
            throw new GuardError('parse-error', `${display(extra.down)} and a "-- migrate:down" section both define the down migration`, {
                location: { file: path },
                hint: 'Keep one of the two.',
            });
        }
        migration.down = { kind: 'file', ...wholeFile((0,external_node_path_namespaceObject.join)(dir, extra.down), display(extra.down)) };
    }
    if (extra.verify)
        migration.verify = wholeFile((0,external_node_path_namespaceObject.join)(dir, extra.verify), display(extra.verify));
    return migration;
}
function wholeFile(absolute, path) {
    const source = new SourceText(readSqlFile(absolute, path).text);
    return { path, source, start: 0, end: source.byteLength };
}
/**
 * A total order on versions that never throws: numeric order first (so 9_x precedes 10_x), then
 * textual for equal numbers with different padding. A version that is not all digits (a history
 * row written by hand or by another tool; file versions always are) sorts after every numeric one,
 * in text order, the empty version first among them.
 */
function compareVersions(a, b) {
    const aNumeric = isNumericVersion(a);
    const bNumeric = isNumericVersion(b);
    if (aNumeric !== bNumeric)
        return aNumeric ? -1 : 1;
    if (aNumeric) {
        const na = BigInt(a);
        const nb = BigInt(b);
        if (na !== nb)
            return na < nb ? -1 : 1;
    }
    return a < b ? -1 : a > b ? 1 : 0;
}
/** Whether a version is one a migration file can have: digits only, at least one. */
function isNumericVersion(version) {
    return /^\d+$/.test(version);
}

;// CONCATENATED MODULE: ./src/engine/plan.ts


/**
 * Compares the files on disk with the database's history. Pure: no I/O, so every rule is
 * unit-testable and `status`, `plan` and `apply` share one answer.
 */
function buildPlan(set, history, checksums, options, partialRows = new Map()) {
    const applied = new Map(history.map((row) => [row.version, row]));
    const onDisk = new Map(set.migrations.map((m) => [m.version, m]));
    const findings = set.skipped.map((s) => ({
        code: 'skipped-file',
        severity: 'warning',
        file: s.fileName,
        message: `${s.fileName} skipped: ${s.reason}`,
    }));
    const rows = [];
    const pending = [];
    const partial = new Map();
    const appliedVersions = [...applied.keys()].sort(compareVersions);
    // A version that is not all digits has no place in the order: it never counts as the newest.
    const newestApplied = appliedVersions.filter(isNumericVersion).pop();
    for (const migration of set.migrations) {
        const row = applied.get(migration.version);
        if (!row) {
            pending.push(migration);
            const part = partialRows.get(migration.version);
            rows.push({
                version: migration.version,
                name: migration.name,
                file: migration.path,
                state: 'pending',
                partial: part ? partialNote(part) : undefined,
            });
            if (part) {
                partial.set(migration.version, part);
                if (part.checksum !== migration.checksum)
                    findings.push(changedPartialFinding(migration, part));
            }
            if (newestApplied !== undefined && compareVersions(migration.version, newestApplied) < 0) {
                findings.push({
                    code: 'out-of-order',
                    severity: options.allowOutOfOrder ? 'warning' : 'error',
                    version: migration.version,
                    file: migration.path,
                    message: `${migration.path} is pending but older than the newest applied version ${newestApplied}` +
                        (options.allowOutOfOrder
                            ? ' (allowed by allow-out-of-order)'
                            : ': give it a newer timestamp, or set allow-out-of-order: true if running it late is safe'),
                });
            }
            continue;
        }
        const recorded = checksums.get(migration.version);
        const checksum = !recorded ? 'unverified' : recorded.checksum === migration.checksum ? 'ok' : 'changed';
        rows.push({
            version: migration.version,
            name: migration.name,
            file: migration.path,
            state: 'applied',
            appliedAt: recorded?.appliedAt.toISOString(),
            appliedBy: recorded ? (recorded.appliedBy ?? undefined) : 'another tool (no checksum recorded)',
            checksum,
        });
        if (checksum === 'changed') {
            findings.push({
                code: 'drift',
                severity: 'error',
                version: migration.version,
                file: migration.path,
                message: `${migration.path} was changed after it was applied (checksum differs). Applied migrations are ` +
                    'immutable: restore the file as it was and put the change in a new migration',
            });
        }
    }
    for (const version of appliedVersions) {
        if (onDisk.has(version))
            continue;
        const row = applied.get(version);
        rows.push({ version, name: row.name ?? '', state: 'missing-locally', checksum: undefined });
        if (!isNumericVersion(version)) {
            findings.push(invalidVersionFinding(version, row.name));
            continue;
        }
        findings.push({
            code: 'missing-locally',
            severity: 'error',
            version,
            message: `version ${version}${row.name ? ` (${row.name})` : ''} is applied on the database but has no file in ` +
                `${set.dir}: restore the file, or, if it was squashed away, remove its history row deliberately`,
        });
    }
    // A partly applied file with no file on disk any more: what committed stays, nothing can resume
    // it. Its row is not 'missing-locally', which would count it as applied (rollback reads that).
    for (const part of partialRows.values()) {
        if (onDisk.has(part.version) || applied.has(part.version))
            continue;
        rows.push({ version: part.version, name: part.name, state: 'pending', partial: partialNote(part) });
        findings.push({
            code: 'missing-locally',
            severity: 'error',
            version: part.version,
            message: `version ${part.version} (${part.name}) was partly applied by run ${part.runId ?? '?'} ` +
                `(${describePartial(part)}) and has no file in ${set.dir}: restore the file so the next apply resumes it, or ` +
                `undo those statements by hand and then ${forgetPartialSql(part.version)}`,
        });
    }
    rows.sort((a, b) => compareVersions(a.version, b.version));
    return { rows, pending, findings, currentVersion: newestApplied, partial };
}
/** "statements 1-3 of 5 committed, 1 of them outside a transaction (line 2)". */
function describePartial(part) {
    const outside = part.outsideTransaction.filter((o) => !o.failed);
    const failed = part.outsideTransaction.filter((o) => o.failed);
    return (`statements 1-${part.statementsDone} of ${part.statementsTotal} committed` +
        (outside.length
            ? `, ${outside.length} of them outside a transaction (line ${outside.map((o) => o.line).join(', ')})`
            : '') +
        (failed.length ? `; failed outside a transaction at line ${failed.map((o) => o.line).join(', ')}` : ''));
}
/** The statement that tells the guard a partly applied file was dealt with by hand. */
function forgetPartialSql(version) {
    return `run: DELETE FROM migration_guard.partial_migrations WHERE version = '${version.replace(/'/g, "''")}'`;
}
function partialNote(part) {
    return {
        statementsDone: part.statementsDone,
        statementsTotal: part.statementsTotal,
        runId: part.runId,
        recordedAt: part.recordedAt,
        outsideTransaction: part.outsideTransaction.map((o) => o.line),
        description: `partially applied: ${describePartial(part)} by run ${part.runId ?? '?'}, no history row; the next apply resumes at statement ${part.statementsDone + 1} if the file is unchanged`,
    };
}
function changedPartialFinding(migration, part) {
    return {
        code: 'drift',
        severity: 'error',
        version: migration.version,
        file: migration.path,
        message: `${migration.path} was partly applied by run ${part.runId ?? '?'} (${describePartial(part)}) and has changed ` +
            'since (checksum differs), so it cannot be resumed: restore the file as it was (the next apply then resumes it ' +
            `after the committed statements), or undo those statements by hand and then ${forgetPartialSql(migration.version)}`,
    };
}
/**
 * A history row whose version is not all digits (empty, say) was written by hand or by another
 * tool: no file can ever match it, so it is reported as its own problem rather than as a file
 * to restore. An error, like any applied version without a file: apply and baseline refuse.
 */
function invalidVersionFinding(version, name) {
    const shown = version === '' ? 'an empty version' : `version ${JSON.stringify(version)}`;
    // PostgreSQL text holds no NUL byte, so the literal can always be written.
    const deletion = `DELETE FROM supabase_migrations.schema_migrations WHERE version = ${quoteLiteral(version)}`;
    return {
        code: 'invalid-version',
        severity: 'error',
        version,
        message: `supabase_migrations.schema_migrations has a row with ${shown}${name ? ` (name ${JSON.stringify(name)})` : ''}, ` +
            'which is not a migration version (digits only, the start of a file name): no file can match it, ' +
            `it was written by hand or by another tool. Check what it records, then delete it deliberately (${deletion})`,
    };
}

;// CONCATENATED MODULE: ./src/engine/staged-apply/partial-files.ts



/**
 * Whether apply rehearses the run before anything commits, and why (the report says it). Only a
 * run that commits in more than one piece needs it: per-file runs, and `all` runs cut by a
 * statement that cannot run in a transaction or an enum value that must commit before its use.
 * A run that is one transaction keeps its speed: a failure there rolls all of it back anyway.
 */
function rehearsalReason(mode, execution) {
    if (mode === 'per-file')
        return {
            rehearse: true,
            reason: 'per-file mode commits file by file, so the run is first tried in a transaction that is rolled back',
        };
    if (!execution || execution.units.length <= 1)
        return {
            rehearse: false,
            reason: 'the run is one transaction: a failure anywhere rolls all of it back, so no rehearsal is needed',
        };
    const why = [...execution.nonAtomic].flatMap(([version, reasons]) => {
        const file = fileOf(execution, version);
        return reasons.map((r) => `${file}: ${r}`);
    });
    return {
        rehearse: true,
        reason: `the run cannot be one transaction (${why.join('; ')}), so it is first tried in a transaction that is ` +
            'rolled back: a failure anywhere is found before anything commits',
    };
}
/** Marks the files an earlier run left partly applied so the plan resumes each after its committed statements. */
function resumePartialFiles(prepared, partial) {
    return prepared.map((item) => {
        const part = partial.get(item.migration.version);
        // The plan refuses a partly applied file whose checksum changed; same file, same statements.
        if (!part || part.checksum !== item.migration.checksum)
            return item;
        return { ...item, resumeAfter: Math.min(part.statementsDone, item.statements.length) };
    });
}
/**
 * After a failed run: books the files it left partly applied in migration_guard.partial_migrations
 * and forgets the rows of files that are now whole (or were reverted whole). Returns, for the
 * report, every file that remains partly applied (this run's and earlier runs') and what the next
 * run does with it.
 */
async function bookPartialFiles(logger, client, run) {
    const { outcome, execution, known } = run;
    const items = execution ? preparedByVersion(execution) : new Map();
    const rows = [];
    for (const version of outcome.partiallyCommitted) {
        const item = items.get(version);
        if (!item)
            continue;
        const done = (item.resumeAfter ?? 0) + (outcome.statementsCommitted.get(version) ?? 0);
        rows.push({
            version,
            name: item.migration.name,
            checksum: item.migration.checksum,
            statementsTotal: item.statements.length,
            statementsDone: done,
            statements: item.statements.slice(0, done).map((s) => s.historyText),
            outsideTransaction: outcome.nonTransactionalDone
                .filter((n) => n.version === version)
                .map((n) => ({ line: n.line, statement: n.statement, failed: n.failed })),
            runId: run.runId,
        });
    }
    try {
        await recordPartialMigrations(client, rows);
        if (known.size > 0)
            await forgetPartialMigrations(client, outcome.committed.filter((v) => known.has(v)));
    }
    catch (error) {
        logger.warn(`Could not record the partly applied file(s) ${rows.map((r) => r.version).join(', ')} in migration_guard.partial_migrations: ${errorMessage(error)}`);
    }
    const booked = new Set(rows.map((r) => r.version));
    const earlier = [...known.values()].filter((p) => !booked.has(p.version) && !outcome.committed.includes(p.version));
    const outstanding = [...rows, ...earlier].map((part) => {
        const item = items.get(part.version);
        const next = item?.statements[part.statementsDone];
        const resumeAt = next
            ? `resumes it at statement ${part.statementsDone + 1} (line ${next.line})`
            : 'records it as applied (all its statements committed) together with the files after it';
        return {
            version: part.version,
            file: item?.migration.path ?? part.name,
            statementsDone: part.statementsDone,
            statementsTotal: part.statementsTotal,
            nextStep: `statements 1-${part.statementsDone} of ${part.statementsTotal} are committed (no history row; recorded in ` +
                `migration_guard.partial_migrations). The next apply ${resumeAt} if the file is unchanged; to start it ` +
                `over instead, undo those statements by hand and ${forgetPartialSql(part.version)}`,
        };
    });
    return outstanding.length > 0 ? outstanding : undefined;
}
function preparedByVersion(execution) {
    const items = new Map();
    for (const unit of execution.units) {
        const steps = unit.kind === 'transaction' ? unit.steps : [unit.step];
        for (const step of steps)
            items.set(step.migration.migration.version, step.migration);
    }
    return items;
}
function fileOf(execution, version) {
    return preparedByVersion(execution).get(version)?.migration.fileName ?? version;
}

;// CONCATENATED MODULE: ./src/db/history.ts

/**
 * The Supabase CLI's migration history, created and written exactly as the CLI does so that
 * `supabase migration list` / `db push` and this tool agree in both directions. These are also
 * the CLI's upgrade path: a table an older CLI made (only `version`, or `version` + `statements`)
 * gets the missing columns from the same statements, in the same order.
 */
const CREATE_HISTORY = [
    'CREATE SCHEMA IF NOT EXISTS supabase_migrations',
    'CREATE TABLE IF NOT EXISTS supabase_migrations.schema_migrations (version text NOT NULL PRIMARY KEY)',
    'ALTER TABLE supabase_migrations.schema_migrations ADD COLUMN IF NOT EXISTS statements text[]',
    'ALTER TABLE supabase_migrations.schema_migrations ADD COLUMN IF NOT EXISTS name text',
];
/** The columns the current CLI's table has, beyond `version`, which every CLI version created. */
const CLI_COLUMNS = ['statements', 'name'];
async function ensureHistoryTable(client) {
    for (const sql of CREATE_HISTORY)
        await client.query(sql);
}
/**
 * The history table as it is, without changing it: read-only commands (status, plan) must not
 * upgrade an older CLI's table, so only the columns that exist are read. Undefined when the
 * table does not exist yet.
 */
async function readHistoryTable(client) {
    const { rows: columns } = await client.query(`SELECT attname AS name FROM pg_attribute
      WHERE attrelid = to_regclass('supabase_migrations.schema_migrations') AND attnum > 0 AND NOT attisdropped`);
    if (columns.length === 0)
        return undefined;
    const present = new Set(columns.map((c) => c.name));
    if (!present.has('version')) {
        throw new GuardError('drift', 'supabase_migrations.schema_migrations has no "version" column: it was not created by the Supabase CLI, so its history cannot be read', {
            hint: 'Rename or drop that table (it holds no history this tool or the Supabase CLI can read), then run baseline to record what the database already has.',
        });
    }
    // version::text: every CLI made it text; the cast keeps a hand-made table from changing types.
    const { rows } = await client.query(`SELECT version::text AS version, ${present.has('name') ? 'name' : 'NULL::text AS name'}
       FROM supabase_migrations.schema_migrations`);
    return { rows, missingColumns: CLI_COLUMNS.filter((c) => !present.has(c)) };
}
/** Applied versions; undefined when the table does not exist yet (read-only callers never create it). */
async function readHistory(client) {
    return (await readHistoryTable(client))?.rows;
}
async function insertHistoryRow(client, row) {
    await client.query('INSERT INTO supabase_migrations.schema_migrations (version, name, statements) VALUES ($1, $2, $3)', [row.version, row.name, row.statements]);
}

;// CONCATENATED MODULE: ./src/engine/staged-apply/after-failure.ts



/**
 * After a failure: find out what committed (on a new connection when the session's was lost),
 * undo this run's own committed files with their down migrations, book the files left partly
 * applied, and hand what was found to `record`, on the connection that is still up (closed after).
 */
async function settleFailure(deps, ran, run, record) {
    const { logger, session, runRecord } = deps;
    const { plan } = session;
    const failure = ran.failure;
    let client = session.client;
    let reconnected;
    try {
        let execution = ran;
        if (failure.connectionLost) {
            // The session is gone (and with it the lock). A COMMIT may or may not have landed: ask the
            // database what it has, on a new connection, rather than trusting what we sent.
            logger.warn('The database connection was lost during the run; reconnecting to check what was committed');
            reconnected = await deps.reconnect();
            client = reconnected;
            const applied = new Set(((await readHistory(client)) ?? []).map((r) => r.version));
            execution = { ...ran, committed: plan.pending.map((m) => m.version).filter((v) => applied.has(v)) };
        }
        announceFailure(execution, run.emit);
        // Files this run committed (per-file mode, or all mode cut by an enum value) are undone by their
        // down migrations. Not after a cancellation (the job is being stopped: finish fast and report)
        // nor a lost connection (the session, and with it the lock, is gone).
        let rollback;
        if (execution.committed.length > 0 && !failure.cancelled && !failure.connectionLost) {
            const toRevert = plan.pending.filter((m) => execution.committed.includes(m.version));
            rollback = await deps.revert(toRevert);
            run.emit({
                type: 'rolled-back',
                versions: rollback.succeeded ? rollback.reverted : toRevert.map((m) => m.version),
                how: 'down-migrations',
                succeeded: rollback.succeeded,
            });
        }
        if (failure.cancelled)
            run.emit({ type: 'cancelled', reason: failure.error.message });
        // Files left partly applied are booked in migration_guard.partial_migrations (status shows
        // them, the next apply resumes them); files that are now whole, or were reverted whole, lose theirs.
        const partiallyApplied = await bookPartialFiles(logger, client, {
            outcome: execution,
            execution: run.plan,
            known: plan.partial,
            runId: await runRecord.open(client).catch(() => undefined),
        });
        const fingerprintAfter = await schemaFingerprint(client);
        return await record({ execution, rollback, partiallyApplied, fingerprintAfter }, client);
    }
    finally {
        await reconnected?.end().catch(() => { });
    }
}
/** The failed file, and what its transaction took with it. */
function announceFailure(execution, emit) {
    const failure = execution.failure;
    if (!failure.cancelled)
        emit({ type: 'file-failed', version: failure.version, error: failure.error });
    // A statement that failed outside a transaction had nothing to roll back with it.
    const outside = execution.nonTransactionalDone.some((n) => n.failed && n.version === failure.version);
    if (!outside)
        emit({
            type: 'rolled-back',
            versions: [...failure.rolledBack, failure.version],
            how: 'transaction',
            succeeded: true,
        });
}

;// CONCATENATED MODULE: ./src/engine/execute/options.ts
/** What every command's execution shares: the runner, the logger and the lock/timeout inputs. */
function baseExecuteOptions(settings, logger, runner, record) {
    return {
        runner,
        logger,
        lockTimeoutMs: settings.lockTimeoutMs,
        statementTimeoutMs: settings.statementTimeoutMs,
        lockRetries: settings.lockRetries,
        retryBaseMs: settings.lockRetryBaseMs,
        record,
    };
}

;// CONCATENATED MODULE: ./src/engine/staged-apply/execute-options.ts



/**
 * How the apply stage runs the units: the history rows it writes (naming the run, opened on the
 * first one), per-file chaining, and the `file-applied` and `lock-retry` events it emits.
 */
function applyExecuteOptions(deps, run) {
    const { settings, logger, session } = deps;
    const { client, plan } = session;
    const toRow = (item) => ({
        version: item.migration.version,
        name: item.migration.name,
        statements: item.statements.map((s) => s.historyText),
        checksum: item.migration.checksum,
    });
    const position = new Map(plan.pending.map((m, index) => [m.version, index + 1]));
    const pendingBy = new Map(plan.pending.map((m) => [m.version, m]));
    // Known once the first history row is written, which is before anything commits.
    let runId;
    const runIdentity = async () => {
        const identity = await run.runIdentity();
        runId = identity.runId;
        return identity;
    };
    return {
        ...baseExecuteOptions(settings, logger, session.runner, async (items) => recordAppliedMigrations(client, items.map(({ migration, durationMs }) => ({ ...toRow(migration), durationMs })), await runIdentity())),
        prelude: session.historyReady ? undefined : CREATE_HISTORY,
        // One transaction per file: consecutive ones travel together (engine/chain.ts).
        chain: settings.transactionMode === 'per-file'
            ? {
                stage: async (records) => stageAppliedMigrations(client, records.map(({ ordinal, migration }) => ({ ordinal, ...toRow(migration) })), await runIdentity()),
                unstage: (count) => unstageAppliedMigrations(client, count),
                recordSql: recordStagedMigrationSql,
                markStart: MARK_FILE_START,
            }
            : undefined,
        onCommitted: (files) => {
            for (const { version, durationMs } of files)
                run.emit({
                    type: 'file-applied',
                    version,
                    file: pendingBy.get(version)?.path,
                    name: pendingBy.get(version)?.name,
                    runId,
                    durationMs,
                    index: position.get(version) ?? 0,
                    total: plan.pending.length,
                    committed: true,
                });
        },
        onRetry: (retry) => run.emit({ type: 'lock-retry', ...retry }),
    };
}

;// CONCATENATED MODULE: ./src/engine/staged-apply/preflight.ts


/** The preflight: nothing runs while the history and the files disagree (drift, out-of-order files). */
function refuseOnBlockingFindings(findings) {
    const blocking = findings.filter((f) => f.severity === 'error');
    if (blocking.length === 0)
        return;
    const code = blocking.every((f) => f.code === 'out-of-order') ? 'out-of-order' : 'drift';
    throw new GuardError(code, `Nothing was applied: the migration history and the files disagree:\n${blocking.map((f) => `  - ${f.message}`).join('\n')}`, {
        hint: `Fix the files listed above and run again.${seeTroubleshooting('history-and-files-disagree')}`,
    });
}

;// CONCATENATED MODULE: ./src/engine/staged-apply/result.ts

/** The verdict on a staged apply. Pure. (A `stopped` run's status and message come from its error.) */
function verdictOf(outcome) {
    const { pending, execution } = outcome;
    const unchanged = {
        applied: [],
        pendingCount: pending.length,
        currentVersion: outcome.currentVersionBefore,
        migrations: outcome.files,
    };
    switch (outcome.stage) {
        case 'nothing-to-do':
            return {
                ...unchanged,
                status: 'nothing-to-do',
                message: `Nothing to apply: all ${outcome.known} migrations are already applied.`,
                migrations: [],
            };
        case 'stopped':
            return { ...unchanged, status: outcome.cancelled ? 'cancelled' : 'failed', message: '' };
        case 'rehearsal-failed': {
            const { error, version } = outcome.rehearsalFailure;
            return {
                ...unchanged,
                status: outcome.cancelled ? 'cancelled' : 'failed',
                cancelled: outcome.cancelled || undefined,
                error,
                migrations: outcome.files.map((m) => (m.version === version ? { ...m, status: 'failed', error } : m)),
                message: outcome.cancelled
                    ? `${error.message}. The rehearsal was stopped before anything was applied: the database is unchanged.`
                    : `${formatLocation(error)}${error.message}. The rehearsal found this before anything was applied: the database is unchanged.`,
            };
        }
        case 'applied':
            return {
                status: 'success',
                message: `Applied ${execution.committed.length} migration(s).`,
                applied: execution.committed,
                pendingCount: pending.length - execution.committed.length,
                currentVersion: execution.committed[execution.committed.length - 1],
                migrations: markFiles(outcome, execution),
            };
        case 'apply-failed':
            return failedVerdict(outcome, execution);
    }
}
function failedVerdict(outcome, execution) {
    const failure = execution.failure;
    const reverted = outcome.rollback?.succeeded ? outcome.rollback.reverted : [];
    const stillApplied = execution.committed.filter((v) => !reverted.includes(v));
    const changed = stillApplied.length > 0 || execution.partiallyCommitted.length > 0;
    const where = formatLocation(failure.error);
    const what = failure.cancelled ? failure.error.message : `${where}${failure.error.message}`;
    const fingerprint = outcome.fingerprint;
    let message = changed
        ? `${what}. ${describeStillApplied(stillApplied, execution.partiallyCommitted, outcome)}`
        : `${what}. The run was rolled back${outcome.rollback?.succeeded ? ` (files committed earlier in this run, ${outcome.rollback.reverted.join(', ')}, were reverted by their down migrations)` : ''}: the database is as it was before the run (schema fingerprint ${fingerprint && fingerprint.before === fingerprint.after ? 'unchanged' : 'CHANGED: inspect it'}).`;
    for (const n of execution.nonTransactionalDone)
        if (n.leftBehind)
            message += ` ${n.file}:${n.line} failed outside a transaction: ${n.leftBehind}.`;
    const earlier = (outcome.partiallyApplied ?? []).filter((p) => !execution.partiallyCommitted.includes(p.version));
    if (earlier.length)
        message += ` Still partly applied from an earlier run: ${earlier.map((p) => `${p.file}: ${p.nextStep}.`).join(' ')}`;
    return {
        status: failure.cancelled ? 'cancelled' : changed ? 'failed' : 'rolled-back',
        message,
        applied: stillApplied,
        pendingCount: outcome.pending.length - stillApplied.length,
        currentVersion: stillApplied[stillApplied.length - 1] ?? outcome.currentVersionBefore,
        migrations: markFiles(outcome, execution).map((m) => reverted.includes(m.version) ? { ...m, status: 'rolled-back' } : m),
        error: failure.error,
        cancelled: failure.cancelled || undefined,
        committedBeforeFailure: changed ? [...stillApplied, ...execution.partiallyCommitted] : undefined,
    };
}
/** Each file's status and duration from the apply stage's outcome. */
function markFiles(outcome, execution) {
    const committed = new Set(execution.committed);
    const partial = new Set(execution.partiallyCommitted);
    const rolledBack = new Set(execution.failure?.rolledBack ?? []);
    return outcome.files.map((file) => {
        const m = { ...file, durationMs: Math.round(execution.durations.get(file.version) ?? 0) };
        if (committed.has(m.version))
            m.status = 'applied';
        else if (execution.failure?.version === m.version) {
            m.status = partial.has(m.version) ? 'partially-applied' : 'failed';
            m.error = execution.failure.error;
        }
        else if (partial.has(m.version))
            m.status = 'partially-applied';
        else if (rolledBack.has(m.version))
            m.status = 'rolled-back';
        return m;
    });
}
function describeStillApplied(applied, partial, outcome) {
    const parts = [];
    if (applied.length) {
        parts.push(`Still applied from this run: ${applied.join(', ')}.`);
        if (outcome.rollback && !outcome.rollback.succeeded)
            parts.push(outcome.rollback.nextStep ?? '');
        else
            parts.push(`To undo them run rollback with count: ${applied.length}.`);
    }
    if (partial.length) {
        const booked = (outcome.partiallyApplied ?? []).filter((p) => partial.includes(p.version));
        parts.push(`Partly applied (statements that ran outside a transaction, and those before them, committed; no history row): ${partial.join(', ')}.`, ...booked.map((p) => `${p.file}: ${p.nextStep}.`));
    }
    return parts.filter(Boolean).join(' ');
}
/** The statements that ran outside a transaction, with each file's down migration for the report. */
function nonTransactionalOf(outcome) {
    return outcome.execution?.nonTransactionalDone.map((n) => ({
        ...n,
        down: outcome.pending.find((m) => m.version === n.version)?.down?.path,
    }));
}
/** What the run record keeps beyond status and versions: backup, rollback, fingerprints and the rest. */
function runDetailsOf(outcome) {
    const nonTransactional = nonTransactionalOf(outcome);
    return {
        backup: outcome.backup ? { path: outcome.backup.path, sha256: outcome.backup.sha256 } : null,
        rollback: outcome.rollback ?? null,
        schemaFingerprint: outcome.fingerprint ?? null,
        nonTransactional: nonTransactional?.length ? nonTransactional : undefined,
        partiallyApplied: outcome.partiallyApplied,
        rehearsal: outcome.rehearsal
            ? { ran: outcome.rehearsal.ran, reason: outcome.rehearsal.reason }
            : undefined,
        // Blockers with their queries normalised (engine/query-text.ts), never the raw text.
        lockRetries: outcome.execution?.retries.length ? outcome.execution.retries : undefined,
    };
}
/**
 * The report of an apply run, built once from the outcome: the fields `base` already holds (what
 * the session found: database, lock, plan findings, skipped files) are kept, every field the
 * apply decides is taken from the outcome. Pure: returns a new object.
 */
function resultOfApply(base, outcome) {
    const verdict = verdictOf(outcome);
    const stopped = outcome.stage === 'stopped';
    const result = {
        ...base,
        transactionMode: outcome.transactionMode,
        // A stopped run's status, message and error are its error's (runCommand decides them).
        ...(!stopped && {
            status: verdict.status,
            message: verdict.message,
            error: verdict.error,
            cancelled: verdict.cancelled,
        }),
        runId: outcome.runId ?? base.runId,
        migrations: verdict.migrations,
        applied: verdict.applied,
        pendingCount: verdict.pendingCount,
        currentVersion: verdict.currentVersion,
        findings: [...base.findings.filter((f) => f.code !== 'timeout-setting'), ...outcome.findings],
        lock: base.lock && outcome.execution ? { ...base.lock, retries: outcome.execution.retries } : base.lock,
        backup: outcome.backup ?? base.backup,
        rehearsal: outcome.rehearsal ?? base.rehearsal,
        nonTransactional: nonTransactionalOf(outcome) ?? base.nonTransactional,
        rollback: outcome.rollback ?? base.rollback,
        partiallyApplied: outcome.stage === 'apply-failed' ? outcome.partiallyApplied : base.partiallyApplied,
        schemaFingerprint: outcome.fingerprint ?? base.schemaFingerprint,
        committedBeforeFailure: verdict.committedBeforeFailure ?? base.committedBeforeFailure,
    };
    // Nothing left to say is no key at all, as in the JSON report.
    for (const key of Object.keys(result))
        if (result[key] === undefined)
            delete result[key];
    return result;
}

;// CONCATENATED MODULE: ./src/engine/staged-apply/apply.ts















/**
 * The staged apply: preflight → backup → rehearsal (when the run commits in more than one piece)
 * → apply (+ verify) → record, and after a failure the revert of what this run committed. Every
 * stage before "apply" leaves the database untouched when it fails. Returns what happened (the
 * caller builds the report from it: result.ts) and tells `deps.events` as it goes.
 * Throws only when the preflight refuses the run (the history and the files disagree).
 */
async function stagedApply(deps) {
    return new StagedApply(deps).run();
}
/** Thrown inside the run when the rehearsal found a failure: the run is already recorded. */
class RehearsalStop extends Error {
    outcome;
    constructor(outcome) {
        super('rehearsal failed');
        this.outcome = outcome;
    }
}
class StagedApply {
    deps;
    files;
    findings = [];
    execution;
    stream;
    backup;
    rehearsal;
    fingerprintBefore = '';
    runId;
    constructor(deps) {
        this.deps = deps;
        this.files = new FileReports(deps.logger, deps.settings);
    }
    emit(event) {
        this.deps.events?.emit(event);
    }
    get cancelled() {
        return this.deps.signal?.aborted ?? false;
    }
    /** The outcome as it stands, with what the stage that ends the run adds. */
    outcome(end) {
        const { plan } = this.deps.session;
        return {
            transactionMode: this.deps.settings.transactionMode,
            pending: plan.pending,
            known: plan.rows.length,
            currentVersionBefore: plan.currentVersion,
            files: this.files.rows,
            findings: [...this.findings, ...this.files.timeoutFindings],
            backup: this.backup,
            rehearsal: this.rehearsal,
            cancelled: this.cancelled,
            runId: this.runId,
            ...end,
        };
    }
    async run() {
        const { settings, session } = this.deps;
        const { plan } = session;
        refuseOnBlockingFindings(plan.findings);
        this.emit({
            type: 'run-started',
            command: settings.command,
            environment: settings.environment,
            pending: plan.pending.map((m) => ({ version: m.version, name: m.name, file: m.path })),
            transactionMode: settings.transactionMode,
        });
        if (plan.pending.length === 0)
            return this.outcome({ stage: 'nothing-to-do' });
        try {
            return await this.stages();
        }
        catch (error) {
            if (error instanceof RehearsalStop)
                return error.outcome;
            const cancelled = this.cancelled || (error instanceof GuardError && error.code === 'cancelled');
            if (cancelled)
                this.emit({ type: 'cancelled', reason: errorMessage(error) });
            return this.outcome({ stage: 'stopped', error, cancelled });
        }
    }
    async stages() {
        const { settings, logger, session, runRecord } = this.deps;
        const { client, plan, runner } = session;
        // Larger than the engine can hold: refused before anything is written (migrations/limits.ts).
        refuseOversizedFiles(plan.pending);
        // A run that fits in one transaction starts before every file is parsed (engine/stream.ts);
        // otherwise all files are parsed and planned first. The parser loads while the backup and the
        // bookkeeping run.
        const parserLoading = loadParser();
        parserLoading.catch(() => { }); // awaited below; a failure to load is reported there
        // A file an earlier run left partly applied resumes after its committed statements: planned.
        if (!streamable(plan.pending) || plan.partial.size > 0)
            this.execution = this.files.plan(resumePartialFiles(await prepareMigrations(plan.pending), plan.partial));
        else
            this.files.unparsed(plan.pending);
        await runner.start();
        const backup = await this.deps.backup();
        if (backup.finding)
            this.findings.push(backup.finding);
        if (backup.report) {
            this.backup = backup.report;
            this.emit({ type: 'backup-taken', backup: backup.report });
        }
        // Our own schema and the run's row commit before any migration does: a failed run must be on
        // record. The Supabase history table, when missing (or an older CLI's, without every column),
        // is created (upgraded) inside the first migration transaction instead.
        if (this.execution)
            this.runId = await runRecord.open();
        this.fingerprintBefore = await schemaFingerprint(client);
        // The control connection opens the record under the run's lock and statement timeouts.
        const controlTimeouts = sessionSettings(settings, 'SESSION');
        this.stream = this.execution
            ? undefined
            : new StreamedRun(plan.pending, await parserLoading, () => {
                runner
                    .withControl(async (control) => {
                    await control.query(controlTimeouts);
                    return runRecord.open(control);
                })
                    .catch(() => { }); // opened again on the session's connection when needed
            });
        let execution;
        try {
            // Per-file runs, and `all` runs cut by a statement that must commit on its own, are tried
            // first in a transaction that is rolled back: a failure anywhere is found before anything
            // commits. A run that is one transaction needs no rehearsal: its failure rolls it all back.
            const rehearseBecause = rehearsalReason(settings.transactionMode, this.execution);
            if (!rehearseBecause.rehearse) {
                this.rehearsal = { ran: false, reason: rehearseBecause.reason, notRehearsed: [] };
                this.emit({
                    type: 'rehearsal-done',
                    ran: false,
                    reason: rehearseBecause.reason,
                    failed: false,
                    notRehearsed: [],
                });
            }
            else {
                await this.rehearseFirst(rehearseBecause.reason);
                this.planNow(); // per-file transactions are planned, not streamed
            }
            logger.info(`Applying ${plan.pending.length} migration(s) in ${describeUnits(settings.transactionMode, this.execution)}`);
            const options = this.executeOptions();
            execution = await this.streamedOrPlanned(async (run) => {
                const streamed = await executeStreamedTransaction(run, options);
                // After a failure the files past it may never have been parsed: report what is known.
                if (streamed.failure)
                    this.files.counted(run.parsed());
                else
                    this.planNow();
                return streamed;
            }, async (planned) => {
                // A streamed `all` run that turned out to need cutting is rehearsed before it commits.
                const late = rehearsalReason(settings.transactionMode, planned);
                if (!this.rehearsal?.ran && late.rehearse)
                    await this.rehearseFirst(late.reason);
                return executeUnits(planned.units, options);
            });
        }
        catch (error) {
            if (error instanceof RehearsalStop)
                throw error;
            // A file that does not parse (found while the run streamed): nothing was run or recorded.
            if (error instanceof GuardError && !runRecord.started)
                throw error;
            const status = this.cancelled ? 'cancelled' : 'failed';
            this.runId = await runRecord.finish({ status, applied: [], error: errorMessage(error) });
            throw error;
        }
        return execution.failure ? this.afterFailure(execution) : this.succeeded(execution);
    }
    planNow() {
        return (this.execution ??= this.files.plan(this.stream.all()));
    }
    /**
     * The streamed form of a stage while the run may stream; the planned form otherwise, or once a
     * file turns out to need a transaction of its own after all.
     */
    async streamedOrPlanned(streamed, planned) {
        if (this.stream && !this.execution) {
            try {
                return await streamed(this.stream);
            }
            catch (error) {
                if (!(error instanceof PlanNeededError))
                    throw error;
            }
        }
        return planned(this.planNow());
    }
    /** The rehearsal; throws RehearsalStop (after recording the run) when it finds a failure. */
    async rehearseFirst(reason) {
        const { logger, settings, session } = this.deps;
        const timeouts = {
            runner: session.runner,
            lockTimeoutMs: settings.lockTimeoutMs,
            statementTimeoutMs: settings.statementTimeoutMs,
        };
        logger.info(`Rehearsing first: ${reason}`);
        const rehearsal = await logger.group('Rehearsal (always rolled back)', () => this.streamedOrPlanned((run) => rehearseStreamed(run, timeouts), (plan) => rehearse(plan.units, timeouts)));
        this.rehearsal = { ran: true, reason, notRehearsed: rehearsal.notRehearsed };
        for (const line of rehearsal.notRehearsed)
            logger.warn(`Not rehearsed: ${line}`);
        this.emit({
            type: 'rehearsal-done',
            ran: true,
            reason,
            failed: rehearsal.failure !== undefined,
            notRehearsed: rehearsal.notRehearsed,
        });
        if (!rehearsal.failure)
            return;
        if (this.stream && !this.execution)
            this.files.counted(this.stream.parsed());
        const { error, version } = rehearsal.failure;
        if (this.cancelled)
            this.emit({ type: 'cancelled', reason: error.message });
        else if (version)
            this.emit({ type: 'file-failed', version, error });
        const outcome = this.outcome({ stage: 'rehearsal-failed', rehearsalFailure: rehearsal.failure });
        const verdict = verdictOf(outcome);
        const runId = await this.deps.runRecord.finish({
            status: verdict.status,
            applied: [],
            error: verdict.message,
        });
        throw new RehearsalStop({ ...outcome, runId });
    }
    /** How the apply stage runs the units, and what it tells the listeners. */
    executeOptions() {
        return applyExecuteOptions(this.deps, {
            emit: (event) => this.emit(event),
            runIdentity: async () => ({
                appliedBy: this.deps.actor,
                runId: (this.runId = await this.deps.runRecord.open()),
            }),
        });
    }
    async succeeded(execution) {
        const { client, plan } = this.deps.session;
        // Files an earlier run left partly applied are now whole: their partial record goes. (No
        // round trip when there were none.)
        if (plan.partial.size > 0)
            await forgetPartialMigrations(client, execution.committed.filter((v) => plan.partial.has(v)));
        const outcome = this.outcome({ stage: 'applied', execution });
        const runId = await this.deps.runRecord.finish({
            status: 'success',
            applied: verdictOf(outcome).applied,
            details: runDetailsOf(outcome),
        });
        return { ...outcome, runId };
    }
    /** After a failure: what committed, undone, partly applied (after-failure.ts); then the record. */
    afterFailure(ran) {
        const run = { plan: this.execution, emit: (event) => this.emit(event) };
        return settleFailure(this.deps, ran, run, async (found, client) => {
            const outcome = this.outcome({
                stage: 'apply-failed',
                execution: found.execution,
                rollback: found.rollback,
                partiallyApplied: found.partiallyApplied,
                fingerprint: { before: this.fingerprintBefore, after: found.fingerprintAfter },
                cancelled: ran.failure.cancelled,
            });
            const verdict = verdictOf(outcome);
            // A streamed run that failed early may not have opened its row yet: it is opened now (on the
            // reconnected client after a lost connection).
            const runId = await this.deps.runRecord.finish({
                status: verdict.status,
                applied: verdict.applied,
                error: verdict.message,
                details: runDetailsOf(outcome),
            }, client);
            return { ...outcome, runId };
        });
    }
}
function describeUnits(mode, execution) {
    if (mode === 'per-file')
        return 'one transaction per file';
    const units = execution?.units ?? [];
    if (units.length <= 1)
        return 'one transaction';
    const outside = units.filter((u) => u.kind === 'autocommit').length;
    return `${units.length - outside} transaction(s) and ${outside} statement(s) outside a transaction`;
}

;// CONCATENATED MODULE: external "node:stream/promises"
const external_node_stream_promises_namespaceObject = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:stream/promises");
;// CONCATENATED MODULE: ./src/backup/pg-tools.ts






/** Debian/Ubuntu (apt.postgresql.org and distribution packages), Homebrew, Postgres.app. */
const DEFAULT_TOOL_DIRS = [
    '/usr/lib/postgresql/*/bin',
    '/opt/homebrew/opt/postgresql@*/bin',
    '/usr/local/opt/postgresql@*/bin',
    '/opt/homebrew/opt/libpq/bin',
    '/usr/local/opt/libpq/bin',
    '/Applications/Postgres.app/Contents/Versions/*/bin',
];
const VERSION_TIMEOUT_MS = 15_000;
/**
 * Finds pg_dump and pg_restore of at least the server's major version, the newest first. pg_dump
 * refuses to dump a server newer than itself, so a mismatch must stop a run before anything changes.
 */
async function findPgTools(options) {
    const { serverMajor, runner, logger } = options;
    if (options.explicitPath) {
        const tools = await explicitTools(options.explicitPath, serverMajor, runner);
        logger.info(`Using ${tools.pgDump.path} (${tools.pgDump.version}, from pg-dump-path) for PostgreSQL ${serverMajor}`);
        return tools;
    }
    let candidates = await discover(options);
    let chosen = pickNewest(candidates, serverMajor);
    let installNote = '';
    if (!chosen && options.installer && (options.platform ?? process.platform) === 'linux') {
        if (await options.installer.available()) {
            logger.info(`No pg_dump ${serverMajor} or newer found (${describeFound(candidates)}); installing postgresql-client-${serverMajor}`);
            try {
                await options.installer.install(serverMajor);
            }
            catch (error) {
                installNote = ` Installing postgresql-client-${serverMajor} failed: ${error.message}`;
            }
            candidates = await discover(options);
            chosen = pickNewest(candidates, serverMajor);
            if (!chosen && !installNote)
                installNote = ` postgresql-client-${serverMajor} was installed, but no suitable pg_dump appeared.`;
        }
        else {
            installNote =
                ' It cannot be installed automatically here: that needs root or passwordless sudo with apt-get.';
        }
    }
    if (!chosen) {
        throw new GuardError('pg-tools', `No pg_dump of PostgreSQL ${serverMajor} or newer was found: the server runs PostgreSQL ${serverMajor} and ` +
            `pg_dump refuses to dump a server newer than itself. Found: ${describeFound(candidates)}.${installNote}`, { hint: fixHint(serverMajor) });
    }
    const tools = {
        pgDump: chosen.pgDump,
        pgRestore: chosen.pgRestore,
        psql: await executable((0,external_node_path_namespaceObject.join)(chosen.dir, 'psql')),
    };
    logger.info(`Using ${tools.pgDump.path} (${tools.pgDump.version}) for PostgreSQL ${serverMajor}`);
    return tools;
}
function fixHint(major) {
    return (`Set the pg-dump-path input to a pg_dump ${major} (or newer) binary, or install the client before this step: ` +
        `on Ubuntu/Debian add the PostgreSQL apt repository (https://wiki.postgresql.org/wiki/Apt) and run ` +
        `"sudo apt-get install postgresql-client-${major}"; on macOS run "brew install postgresql@${major}".` +
        seeTroubleshooting('pg_dump-is-older-than-the-server'));
}
/** Parses `pg_dump --version` output: "pg_dump (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)". */
function parsePgVersion(output) {
    const banner = output.trim().split('\n')[0]?.trim() ?? '';
    const match = /\(PostgreSQL\)\s+(\d+(?:\.\d+)*)(\w*)/.exec(banner);
    if (!match)
        return undefined;
    return { version: match[1] + match[2], major: Number(match[1].split('.')[0]), banner };
}
async function explicitTools(given, serverMajor, runner) {
    let path = (0,external_node_path_namespaceObject.resolve)(given);
    const info = await (0,promises_namespaceObject.stat)(path).catch(() => undefined);
    if (!info)
        throw new GuardError('pg-tools', `pg-dump-path "${given}" does not exist`, {
            hint: fixHint(serverMajor),
        });
    if (info.isDirectory())
        path = (0,external_node_path_namespaceObject.join)(path, 'pg_dump');
    const pgDump = await probeTool(path, runner);
    if ('problem' in pgDump) {
        throw new GuardError('pg-tools', `pg-dump-path "${given}" cannot be used: ${pgDump.problem}`, {
            hint: fixHint(serverMajor),
        });
    }
    if (pgDump.major < serverMajor) {
        throw new GuardError('pg-tools', `pg-dump-path "${given}" is pg_dump ${pgDump.version}, but the server runs PostgreSQL ${serverMajor}: ` +
            `pg_dump must be version ${serverMajor} or newer`, { hint: fixHint(serverMajor) });
    }
    const restorePath = (0,external_node_path_namespaceObject.join)((0,external_node_path_namespaceObject.dirname)(path), 'pg_restore');
    const pgRestore = await probeTool(restorePath, runner);
    if ('problem' in pgRestore || pgRestore.major < serverMajor) {
        const why = 'problem' in pgRestore ? pgRestore.problem : `it is version ${pgRestore.version}`;
        throw new GuardError('pg-tools', `pg-dump-path "${given}": pg_restore ${serverMajor}+ must sit beside it (${restorePath}), but ${why}`, {
            hint: `Point pg-dump-path at the bin directory of a complete PostgreSQL ${serverMajor} client installation.`,
        });
    }
    return { pgDump, pgRestore, psql: await executable((0,external_node_path_namespaceObject.join)((0,external_node_path_namespaceObject.dirname)(path), 'psql')) };
}
async function probeTool(path, runner) {
    if (!(await executable(path)))
        return { problem: `${path} is missing or not executable` };
    const result = await runner.run(path, ['--version'], { timeoutMs: VERSION_TIMEOUT_MS });
    const parsed = result.code === 0 ? parsePgVersion(result.stdout) : undefined;
    if (!parsed) {
        const said = (result.stdout + result.stderr).trim().split('\n')[0] ?? '';
        return {
            problem: `"${(0,external_node_path_namespaceObject.basename)(path)} --version" did not report a PostgreSQL version (exit ${result.code}: ${said})`,
        };
    }
    return { path, ...parsed };
}
async function discover(options) {
    const pathDirs = (options.searchPath ?? process.env.PATH ?? '')
        .split(external_node_path_namespaceObject.delimiter)
        .filter((d) => d && (0,external_node_path_namespaceObject.isAbsolute)(d));
    const extra = await expandPatterns(options.extraDirs ?? DEFAULT_TOOL_DIRS);
    const seen = new Set();
    const dirs = [];
    for (const dir of [...pathDirs, ...extra]) {
        const real = await (0,promises_namespaceObject.realpath)((0,external_node_path_namespaceObject.join)(dir, 'pg_dump')).catch(() => undefined);
        if (!real || seen.has(real) || !(await executable((0,external_node_path_namespaceObject.join)(dir, 'pg_dump'))))
            continue;
        seen.add(real);
        dirs.push({ dir, real });
    }
    return Promise.all(dirs.map(async ({ dir, real }, order) => {
        const direct = (0,external_node_path_namespaceObject.basename)(real) === 'pg_dump';
        const [pgDump, pgRestore] = await Promise.all([
            probeTool((0,external_node_path_namespaceObject.join)(dir, 'pg_dump'), options.runner),
            probeTool((0,external_node_path_namespaceObject.join)(dir, 'pg_restore'), options.runner),
        ]);
        if ('problem' in pgDump)
            return { dir, direct, order, problem: pgDump.problem };
        if ('problem' in pgRestore)
            return { dir, direct, order, pgDump, problem: `no usable pg_restore beside it` };
        return { dir, direct, order, pgDump, pgRestore };
    }));
}
function pickNewest(candidates, serverMajor) {
    return candidates
        .filter((c) => c.pgDump && c.pgRestore && c.pgDump.major >= serverMajor && c.pgRestore.major >= serverMajor)
        .sort((a, b) => pg_tools_compareVersions(b.pgDump.version, a.pgDump.version) ||
        Number(b.direct) - Number(a.direct) ||
        a.order - b.order)[0];
}
function pg_tools_compareVersions(a, b) {
    const pa = a.split(/[^\d]+/).map(Number);
    const pb = b.split(/[^\d]+/).map(Number);
    for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
        const diff = (pa[i] ?? 0) - (pb[i] ?? 0);
        if (diff)
            return diff;
    }
    return 0;
}
function describeFound(candidates) {
    if (candidates.length === 0)
        return 'no pg_dump at all (searched PATH and the usual install directories)';
    return candidates
        .map((c) => {
        const where = (0,external_node_path_namespaceObject.join)(c.dir, 'pg_dump');
        if (!c.pgDump)
            return `${where} (${c.problem})`;
        return `${where} (${c.pgDump.version}${c.problem ? `; ${c.problem}` : ''})`;
    })
        .join(', ');
}
/** Expands `*` (at most one per path segment), e.g. /usr/lib/postgresql/*\/bin. */
async function expandPatterns(patterns) {
    return (await Promise.all(patterns.map(expandPattern))).flat();
}
async function expandPattern(pattern) {
    const star = pattern.indexOf('*');
    if (star < 0)
        return [pattern];
    const cut = pattern.lastIndexOf('/', star);
    const parent = pattern.slice(0, cut) || '/';
    const rest = pattern.slice(cut + 1);
    const slash = rest.indexOf('/');
    const segment = slash < 0 ? rest : rest.slice(0, slash);
    const after = slash < 0 ? '' : rest.slice(slash);
    const [prefix, suffix] = [segment.slice(0, segment.indexOf('*')), segment.slice(segment.indexOf('*') + 1)];
    const names = await (0,promises_namespaceObject.readdir)(parent).catch(() => []);
    const matches = names
        .filter((n) => n.length >= prefix.length + suffix.length && n.startsWith(prefix) && n.endsWith(suffix))
        .sort();
    return (await Promise.all(matches.map((n) => expandPattern((0,external_node_path_namespaceObject.join)(parent, n) + after)))).flat();
}
async function executable(path) {
    try {
        await (0,promises_namespaceObject.access)(path, external_node_fs_.constants.X_OK);
        return (await (0,promises_namespaceObject.stat)(path)).isFile() ? path : undefined;
    }
    catch {
        return undefined;
    }
}
const PGDG_KEY_URL = 'https://www.postgresql.org/media/keys/ACCC4CF8.asc';
const PGDG_KEY_DIR = '/usr/share/postgresql-common/pgdg';
const PGDG_KEY = `${PGDG_KEY_DIR}/apt.postgresql.org.asc`;
const PGDG_LIST = '/etc/apt/sources.list.d/pgdg.list';
const APT_TIMEOUT_MS = 10 * 60_000;
/**
 * Installs postgresql-client-<major> with apt-get (root, or passwordless sudo as on GitHub's runners),
 * first adding the PostgreSQL apt repository the way https://wiki.postgresql.org/wiki/Apt documents
 * when the distribution has no such package.
 */
function aptInstaller(runner, logger, options = {}) {
    const root = options.isRoot ?? process.getuid?.() === 0;
    const privileged = (args) => root
        ? runner.run(args[0], args.slice(1), { timeoutMs: APT_TIMEOUT_MS })
        : runner.run('sudo', ['-n', ...args], { timeoutMs: APT_TIMEOUT_MS });
    const step = async (what, args) => {
        logger.info(`${root ? '' : 'sudo '}${args.join(' ')}`);
        const result = await privileged(args);
        if (result.code !== 0)
            throw new Error(`${what} failed (exit ${result.code}): ${tail(result.stderr || result.stdout)}`);
    };
    const aptGet = (...args) => ['env', 'DEBIAN_FRONTEND=noninteractive', 'apt-get', '-q', ...args];
    const hasCandidate = async (pkg) => {
        const policy = await runner.run('apt-cache', ['policy', pkg], { timeoutMs: APT_TIMEOUT_MS });
        const candidate = /Candidate:\s*(\S+)/.exec(policy.stdout)?.[1];
        return policy.code === 0 && candidate !== undefined && candidate !== '(none)';
    };
    return {
        async available() {
            if ((await runner.run('apt-get', ['--version'], { timeoutMs: VERSION_TIMEOUT_MS })).code !== 0)
                return false;
            return root || (await runner.run('sudo', ['-n', 'true'], { timeoutMs: VERSION_TIMEOUT_MS })).code === 0;
        },
        async install(major) {
            const pkg = `postgresql-client-${major}`;
            if (!(await hasCandidate(pkg))) {
                const codename = await releaseCodename(options.osReleasePath ?? '/etc/os-release');
                logger.info(`${pkg} is not in the configured apt sources; adding the PostgreSQL apt repository (${codename}-pgdg)`);
                if ((await runner.run('curl', ['--version'], { timeoutMs: VERSION_TIMEOUT_MS })).code !== 0) {
                    await step('apt-get update', aptGet('update'));
                    await step('installing curl', aptGet('install', '-y', '--no-install-recommends', 'curl', 'ca-certificates'));
                }
                await step('creating the key directory', ['install', '-d', PGDG_KEY_DIR]);
                await step('downloading the repository signing key', ['curl', '-fsSL', '-o', PGDG_KEY, PGDG_KEY_URL]);
                const tmp = await (0,promises_namespaceObject.mkdtemp)((0,external_node_path_namespaceObject.join)((0,external_node_os_namespaceObject.tmpdir)(), 'mg-pgdg-'));
                try {
                    const list = (0,external_node_path_namespaceObject.join)(tmp, 'pgdg.list');
                    await (0,promises_namespaceObject.writeFile)(list, `deb [signed-by=${PGDG_KEY}] https://apt.postgresql.org/pub/repos/apt ${codename}-pgdg main\n`);
                    await step('adding the repository', ['install', '-m', '0644', list, PGDG_LIST]);
                }
                finally {
                    await (0,promises_namespaceObject.rm)(tmp, { recursive: true, force: true });
                }
                await step('apt-get update', aptGet('update'));
                if (!(await hasCandidate(pkg)))
                    throw new Error(`the PostgreSQL apt repository offers no ${pkg} for ${codename}`);
            }
            await step(`installing ${pkg}`, aptGet('install', '-y', '--no-install-recommends', pkg));
        },
    };
}
async function releaseCodename(osReleasePath) {
    const text = await (0,promises_namespaceObject.readFile)(osReleasePath, 'utf8').catch(() => '');
    const value = (key) => new RegExp(`^${key}=["']?([a-z]+)["']?$`, 'm').exec(text)?.[1];
    const codename = value('VERSION_CODENAME') ?? value('UBUNTU_CODENAME');
    if (!codename)
        throw new Error(`cannot tell the distribution release from ${osReleasePath}`);
    return codename;
}
function tail(text) {
    return text.trim().split('\n').slice(-5).join(' | ');
}

;// CONCATENATED MODULE: ./src/backup/private-dir.ts



/** Owner only: a backup holds every row of the database. */
const PRIVATE_DIR = 0o700;
const PRIVATE_FILE = 0o600;
/**
 * Makes `dir` a folder only this user can enter, and returns its real path (symbolic links
 * resolved once, so the folder checked is the folder written to). Missing levels are created 0700
 * whatever the umask. An existing folder must belong to this user: one created by someone else is
 * refused, since its owner could read or replace what is written there. One of ours that others
 * can enter is made 0700, with a warning. Windows has no POSIX owners or modes: nothing is checked
 * there.
 */
async function preparePrivateDir(dir, logger) {
    await createMissing(dir);
    const real = await (0,promises_namespaceObject.realpath)(dir);
    const info = await (0,promises_namespaceObject.stat)(real);
    if (!info.isDirectory()) {
        throw new GuardError('backup-failed', `Backup folder ${dir} is a file, not a folder. Nothing was changed.`, {
            hint: 'Point backup-dir at a folder (it is created when missing).',
        });
    }
    const uid = process.getuid?.();
    if (uid === undefined)
        return real;
    if (info.uid !== uid) {
        throw new GuardError('backup-failed', `Backup folder ${dir} belongs to another user (uid ${info.uid}; this run is uid ${uid}), who could read or replace a backup written there. Nothing was changed.`, {
            hint: `Point backup-dir at a folder this user owns, or remove ${dir} so that it is created again, private to this user.`,
        });
    }
    if ((info.mode & 0o077) !== 0) {
        await (0,promises_namespaceObject.chmod)(real, PRIVATE_DIR);
        const after = (await (0,promises_namespaceObject.stat)(real)).mode & 0o777;
        if ((after & 0o077) !== 0) {
            throw new GuardError('backup-failed', `Backup folder ${dir} cannot be made private: it stays ${octal(after)} after chmod 0700 (a file system without Unix permissions?). Nothing was changed.`, { hint: 'Point backup-dir at a folder on a local Unix file system.' });
        }
        logger.warn(`Backup folder ${dir} was open to other users (mode ${octal(info.mode & 0o777)}): made it private (0700), since a backup holds every row of the database.`);
    }
    return real;
}
/**
 * Creates an empty file readable by this user only, before any program writes to it: the data
 * never exists with a looser mode, even for an instant. `wx` refuses an existing name (a planted
 * symbolic link included); the explicit chmod makes the mode exact under any umask.
 */
async function createPrivateFile(path) {
    const handle = await (0,promises_namespaceObject.open)(path, 'wx', PRIVATE_FILE);
    try {
        await handle.chmod(PRIVATE_FILE);
    }
    finally {
        await handle.close();
    }
}
/** mkdir -p, each created level 0700 regardless of the umask (which could leave one unusable). */
async function createMissing(dir) {
    const missing = [];
    for (let level = dir;; level = (0,external_node_path_namespaceObject.dirname)(level)) {
        if (await exists(level))
            break;
        missing.unshift(level);
        if ((0,external_node_path_namespaceObject.dirname)(level) === level)
            break;
    }
    for (const level of missing) {
        try {
            await (0,promises_namespaceObject.mkdir)(level, { mode: PRIVATE_DIR });
        }
        catch (error) {
            if (error.code !== 'EEXIST')
                throw error;
            continue; // created meanwhile by someone else: the owner check decides
        }
        await (0,promises_namespaceObject.chmod)(level, PRIVATE_DIR);
    }
}
async function exists(path) {
    try {
        await (0,promises_namespaceObject.stat)(path);
        return true;
    }
    catch (error) {
        if (error.code === 'ENOENT')
            return false;
        throw error;
    }
}
function octal(mode) {
    return `0${mode.toString(8).padStart(3, '0')}`;
}

;// CONCATENATED MODULE: ./src/backup/backup.ts










const DEFAULT_TIMEOUT_MS = 2 * 60 * 60_000;
const DEFAULT_LOCK_WAIT_MS = 60_000;
const LIST_TIMEOUT_MS = 10 * 60_000;
/**
 * Takes a custom-format backup that counts only once it has been read back: pg_dump writes a hidden
 * temporary file, `pg_restore --list` must read its table of contents, its sha256 is computed, and
 * only then is it renamed to its final name. Any failure removes the partial file. The folder is
 * private (0700) and the file is created 0600 before pg_dump opens it.
 */
async function takeBackup(options) {
    const { target, tools, runner, logger } = options;
    const started = Date.now();
    const scrub = passwordScrubber(target);
    const dir = await prepareDir((0,external_node_path_namespaceObject.resolve)(options.dir), logger);
    const fileName = await freeName(dir, backupFileName(options.environment, options.now ?? new Date(), options.sha));
    const path = (0,external_node_path_namespaceObject.join)(dir, fileName);
    const partial = (0,external_node_path_namespaceObject.join)(dir, `.${fileName}.partial`);
    try {
        // A partial file left by a run that died is ours (the folder is private): replace it.
        await (0,promises_namespaceObject.rm)(partial, { force: true });
        await createPrivateFile(partial);
        const lockWait = options.lockWaitTimeoutMs ?? DEFAULT_LOCK_WAIT_MS;
        logger.info(`Backing up ${target.display} with pg_dump ${tools.pgDump.version} to ${path}`);
        const dump = await runner.run(tools.pgDump.path, ['--format=custom', `--file=${partial}`, '--no-password', `--lock-wait-timeout=${lockWait}`], { env: pgEnv(target, tools.pgDump.major), timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS });
        if (dump.code !== 0)
            throw dumpFailure(dump.stderr, dump.timedOut, options, dir, scrub);
        const sizeBytes = (await (0,promises_namespaceObject.stat)(partial)).size;
        if (sizeBytes === 0)
            throw new GuardError('backup-failed', 'pg_dump exited successfully but wrote an empty file');
        // pg_restore reads the archive while we hash and sync it: three passes over the file at once.
        const [toc, sha256] = await Promise.all([
            readToc(partial, tools, runner, 'backup-failed'),
            sha256File(partial),
            syncFile(partial),
        ]);
        await (0,promises_namespaceObject.rename)(partial, path);
        const info = {
            path,
            fileName,
            sha256,
            sizeBytes,
            durationMs: Date.now() - started,
            pgDumpVersion: tools.pgDump.version,
            entries: toc.entries.length,
            serverVersion: toc.serverVersion,
        };
        logger.info(`Backup ${fileName}: ${backup_formatBytes(sizeBytes)}, ${info.entries} entries, sha256 ${sha256}`);
        return info;
    }
    catch (error) {
        await (0,promises_namespaceObject.rm)(partial, { force: true }).catch(() => { });
        if (error instanceof GuardError)
            throw error;
        throw fsFailure(error, dir);
    }
}
/** `production-20261124T210102Z-abc1234.dump` */
function backupFileName(environment, now, sha) {
    const label = environment.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^[-.]+|[-.]+$/g, '') || 'default';
    const stamp = now
        .toISOString()
        .replace(/\.\d+Z$/, 'Z')
        .replace(/[-:]/g, '');
    const short = sha
        ?.toLowerCase()
        .replace(/[^0-9a-f]/g, '')
        .slice(0, 7);
    return `${label}-${stamp}${short ? `-${short}` : ''}.dump`;
}
/**
 * The environment for a libpq program: the connection travels in PG* variables (never on the
 * command line, where `ps` would show it); inherited PG* variables that could redirect it are dropped.
 */
function pgEnv(target, toolMajor, base = process.env) {
    const env = {};
    for (const [key, value] of Object.entries(base))
        if (!CONNECTION_VARIABLES.has(key))
            env[key] = value;
    env.PGHOST = target.host;
    env.PGPORT = String(target.port);
    env.PGUSER = target.user;
    env.PGDATABASE = target.database;
    env.PGSSLMODE = target.sslmode;
    env.PGAPPNAME = 'supabase-migration-guard';
    env.PGCONNECT_TIMEOUT = '15';
    if (target.password !== undefined)
        env.PGPASSWORD = target.password;
    if (target.sslRootCert)
        env.PGSSLROOTCERT = target.sslRootCert;
    // Node checks certificates against its CA bundle; libpq only against ~/.postgresql/root.crt unless
    // told to use the system store (libpq 16+), so do that when the user gave no CA of their own.
    else if (target.sslmode === 'verify-full' &&
        toolMajor >= 16 &&
        !(0,external_node_fs_.existsSync)((0,external_node_path_namespaceObject.join)((0,external_node_os_namespaceObject.homedir)(), '.postgresql', 'root.crt'))) {
        env.PGSSLROOTCERT = 'system';
    }
    return env;
}
const CONNECTION_VARIABLES = new Set([
    'PGHOST',
    'PGHOSTADDR',
    'PGPORT',
    'PGDATABASE',
    'PGUSER',
    'PGPASSWORD',
    'PGPASSFILE',
    'PGSERVICE',
    'PGSERVICEFILE',
    'PGSSLMODE',
    'PGSSLROOTCERT',
    'PGREQUIRESSL',
    'PGTARGETSESSIONATTRS',
    'PGCLUSTER',
    'PGOPTIONS',
]);
/** Reads an archive's table of contents; a file it cannot read is not a backup. */
async function readToc(path, tools, runner, code) {
    const result = await runner.run(tools.pgRestore.path, ['--list', path], { timeoutMs: LIST_TIMEOUT_MS });
    if (result.code !== 0 || !/^;\s+Format: CUSTOM/m.test(result.stdout)) {
        throw new GuardError(code, `${path} cannot be read back as a pg_dump custom-format archive: ${lastLines(result.stderr) || `pg_restore --list exited with ${result.code}`}`, {
            hint: 'The file is damaged or incomplete (disk full, interrupted copy). Take a new backup, or restore a copy whose sha256 matches the recorded one.',
        });
    }
    return parseToc(result.stdout);
}
function parseToc(listing) {
    const header = (name) => new RegExp(`^;\\s+${name}:\\s*(\\S+)`, 'm').exec(listing)?.[1];
    const raw = [];
    for (const line of listing.split('\n')) {
        const match = /^(\d+); (\d+) (\d+) (.*)$/.exec(line);
        if (!match)
            continue;
        const rest = match[4];
        const desc = KNOWN_DESCS.find((d) => rest.startsWith(`${d} `)) ?? rest.split(' ')[0];
        const afterDesc = rest.slice(desc.length + 1);
        const cut = afterDesc.lastIndexOf(' ');
        raw.push({
            line,
            id: Number(match[1]),
            tableoid: Number(match[2]),
            oid: Number(match[3]),
            desc,
            owner: cut < 0 ? '' : afterDesc.slice(cut + 1),
            body: cut < 0 ? afterDesc : afterDesc.slice(0, cut),
        });
    }
    // Names are printed unquoted, so a schema name with spaces is recognised by the SCHEMA entries.
    const schemas = raw
        .filter((e) => e.desc === 'SCHEMA' && e.body.startsWith('- '))
        .map((e) => e.body.slice(2))
        .concat('public')
        .sort((a, b) => b.length - a.length);
    const entries = raw.map(({ body, ...entry }) => {
        const namespace = body.startsWith('- ')
            ? '-'
            : (schemas.find((s) => body.startsWith(`${s} `)) ?? body.split(' ')[0]);
        return { ...entry, namespace, tag: body.slice(namespace.length + 1) };
    });
    return {
        entries,
        serverVersion: header('Dumped from database version'),
        pgDumpVersion: header('Dumped by pg_dump version'),
    };
}
/** pg_dump's object descriptions (pg_backup_archiver/pg_dump.c), longest first so prefixes do not win. */
const KNOWN_DESCS = 'ACCESS METHOD,ACL,AGGREGATE,BLOB,BLOB METADATA,BLOBS,CAST,CHECK CONSTRAINT,COLLATION,COMMENT,CONSTRAINT,CONVERSION,DATABASE,DATABASE PROPERTIES,DEFAULT,DEFAULT ACL,DOMAIN,ENCODING,EVENT TRIGGER,EXTENSION,FK CONSTRAINT,FOREIGN DATA WRAPPER,FOREIGN TABLE,FUNCTION,INDEX,INDEX ATTACH,LARGE OBJECT,LARGE OBJECTS,MATERIALIZED VIEW,MATERIALIZED VIEW DATA,OPERATOR,OPERATOR CLASS,OPERATOR FAMILY,POLICY,PROCEDURAL LANGUAGE,PROCEDURE,PUBLICATION,PUBLICATION TABLE,PUBLICATION TABLES IN SCHEMA,ROW SECURITY,RULE,SCHEMA,SEARCHPATH,SECURITY LABEL,SEQUENCE,SEQUENCE OWNED BY,SEQUENCE SET,SERVER,SHELL TYPE,STATISTICS,STATISTICS DATA,STDSTRINGS,SUBSCRIPTION,SUBSCRIPTION TABLE,TABLE,TABLE ATTACH,TABLE DATA,TEXT SEARCH CONFIGURATION,TEXT SEARCH DICTIONARY,TEXT SEARCH PARSER,TEXT SEARCH TEMPLATE,TRANSFORM,TRIGGER,TYPE,USER MAPPING,VIEW'
    .split(',')
    .sort((a, b) => b.length - a.length);
async function sha256File(path) {
    const hash = (0,external_node_crypto_.createHash)('sha256');
    // 1 MiB reads: hashing a large dump with the default 64 KiB chunks costs twice as long.
    await (0,external_node_stream_promises_namespaceObject.pipeline)((0,external_node_fs_.createReadStream)(path, { highWaterMark: 1024 * 1024 }), hash);
    return hash.digest('hex');
}
function passwordScrubber(target) {
    const scrubber = new SecretScrubber();
    scrubber.add(target.password);
    return scrubber.scrub;
}
function lastLines(text, count = 15) {
    return text.trim().split('\n').slice(-count).join('\n');
}
async function prepareDir(dir, logger) {
    try {
        const real = await preparePrivateDir(dir, logger);
        await (0,promises_namespaceObject.access)(real, external_node_fs_.constants.W_OK);
        return real;
    }
    catch (error) {
        if (error instanceof GuardError)
            throw error;
        throw fsFailure(error, dir);
    }
}
async function freeName(dir, name) {
    for (let n = 1;; n++) {
        const candidate = n === 1 ? name : name.replace(/\.dump$/, `-${n}.dump`);
        if (!(0,external_node_fs_.existsSync)((0,external_node_path_namespaceObject.join)(dir, candidate)))
            return candidate;
    }
}
async function syncFile(path) {
    const handle = await (0,promises_namespaceObject.open)(path, 'r');
    try {
        await handle.sync();
    }
    finally {
        await handle.close();
    }
}
function dumpFailure(stderr, timedOut, options, dir, scrub) {
    const said = scrub(lastLines(stderr));
    const tool = `pg_dump ${options.tools.pgDump.version}`;
    const fail = (message, hint) => new GuardError('backup-failed', `${message}. Nothing was changed.${said ? `\npg_dump said:\n${said}` : ''}`, { hint });
    if (timedOut) {
        return fail(`${tool} did not finish within ${Math.round((options.timeoutMs ?? DEFAULT_TIMEOUT_MS) / 1000)} s`, 'Check the database size and network speed, or run the backup separately.');
    }
    if (/server version mismatch/i.test(stderr)) {
        const server = /server version:\s*(\d+)/i.exec(stderr)?.[1];
        return fail(`${tool} cannot back up this server: it aborted because of a server version mismatch${server ? ` (server version ${server})` : ''}`, fixHint(server ? Number(server) : options.tools.pgDump.major + 1));
    }
    if (/No space left on device|could not write|could not close/i.test(stderr)) {
        return fail(`The backup could not be written to ${dir}: the disk is full or failing`, 'Free disk space or point backup-dir at a larger volume.');
    }
    if (/could not open output file/i.test(stderr)) {
        return fail(`pg_dump cannot create its file in ${dir}`, 'Point backup-dir at a writable directory.');
    }
    if (/lock timeout|could not obtain lock/i.test(stderr)) {
        return fail(`pg_dump waited too long for a table lock that another session holds`, 'Retry when the long-running transaction or DDL on the database has finished.');
    }
    if (/permission denied/i.test(stderr)) {
        return fail(`The database user "${options.target.user}" cannot read everything pg_dump must back up`, 'Use a role that can read every schema (on Supabase the postgres user), or grant it SELECT on the objects named above.');
    }
    if (/connection to server|could not connect|password authentication failed|could not translate host/i.test(stderr)) {
        return fail(`pg_dump cannot connect to ${options.target.display}`, 'Check database-url (host, port, password, sslmode) and that this runner can reach the server.');
    }
    return fail(`${tool} failed`, "Read pg_dump's message above; the run stopped before any change.");
}
function fsFailure(error, dir) {
    const err = error;
    const reasons = {
        ENOTDIR: 'a part of that path is a file, not a directory',
        EEXIST: 'a file of that name is in the way',
        EACCES: 'permission denied',
        EPERM: 'permission denied',
        EROFS: 'the file system is read-only',
        ENOSPC: 'the disk is full',
        EDQUOT: 'the disk quota is exhausted',
    };
    const reason = (err?.code && reasons[err.code]) || err?.message || String(error);
    return new GuardError('backup-failed', `Cannot write the backup to ${dir}: ${reason}. Nothing was changed.`, {
        hint: "Set backup-dir to a writable directory with enough free space (the runner's temp directory works: ${{ runner.temp }}/backups).",
        cause: error,
    });
}
function backup_formatBytes(bytes) {
    if (bytes < 1024)
        return `${bytes} B`;
    if (bytes < 1024 * 1024)
        return `${(bytes / 1024).toFixed(1)} KiB`;
    return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

;// CONCATENATED MODULE: external "node:child_process"
const external_node_child_process_namespaceObject = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:child_process");
;// CONCATENATED MODULE: ./src/backup/process.ts


/** Output beyond this is dropped (stdout: the end, stderr: the beginning, which matters least). */
const MAX_STDOUT = 64 * 1024 * 1024;
const MAX_STDERR = 1024 * 1024;
const KILL_GRACE_MS = 5_000;
function createProcessRunner() {
    return { run: runProcess };
}
function runProcess(file, args, options = {}) {
    return new Promise((resolve) => {
        const child = (0,external_node_child_process_namespaceObject.spawn)(file, [...args], {
            env: options.env ?? process.env,
            stdio: ['ignore', 'pipe', 'pipe'],
            shell: false,
            windowsHide: true,
        });
        const stdout = [];
        let stdoutBytes = 0;
        let stderr = '';
        let timedOut = false;
        let settled = false;
        let killTimer;
        child.stdout.on('data', (chunk) => {
            if (stdoutBytes >= MAX_STDOUT)
                return;
            stdout.push(chunk);
            stdoutBytes += chunk.length;
        });
        child.stderr.on('data', (chunk) => {
            stderr += chunk.toString('utf8');
            if (stderr.length > MAX_STDERR)
                stderr = stderr.slice(-MAX_STDERR);
        });
        const timer = options.timeoutMs && options.timeoutMs > 0
            ? setTimeout(() => {
                timedOut = true;
                child.kill('SIGTERM');
                killTimer = setTimeout(() => child.kill('SIGKILL'), KILL_GRACE_MS);
            }, options.timeoutMs)
            : undefined;
        const finish = (code, extraStderr = '') => {
            if (settled)
                return;
            settled = true;
            if (timer)
                clearTimeout(timer);
            if (killTimer)
                clearTimeout(killTimer);
            resolve({
                code,
                stdout: Buffer.concat(stdout).toString('utf8'),
                stderr: stderr + extraStderr,
                ...(timedOut ? { timedOut } : {}),
            });
        };
        child.on('error', (error) => {
            // ENOENT / EACCES: the program could not be started at all.
            finish(127, `${stderr ? '\n' : ''}cannot run ${file}: ${error.message}`);
        });
        child.on('close', (code, signal) => {
            if (code !== null)
                return finish(code);
            const number = signal ? external_node_os_namespaceObject.constants.signals[signal] : undefined;
            finish(128 + (number ?? 0), timedOut ? `\n${file} was stopped after ${options.timeoutMs} ms` : '');
        });
    });
}

;// CONCATENATED MODULE: ./src/commands/backup-stage.ts






/**
 * Where backups go unless `backup-dir` says otherwise: on a runner, its temp folder (the job's own,
 * kept for the job); elsewhere (the CLI), a folder of the user's own, never a shared, guessable
 * one in /tmp that another user could create first. Backups are kept there until removed.
 */
function defaultBackupDir(env = process.env, platform = process.platform) {
    if (env.RUNNER_TEMP)
        return (0,external_node_path_namespaceObject.join)(env.RUNNER_TEMP, 'migration-guard-backups');
    if (platform === 'win32' && env.LOCALAPPDATA)
        return (0,external_node_path_namespaceObject.join)(env.LOCALAPPDATA, 'supabase-migration-guard', 'backups');
    // XDG Base Directory: state that outlives a reboot, per user; a relative value is to be ignored.
    const state = env.XDG_STATE_HOME && (0,external_node_path_namespaceObject.isAbsolute)(env.XDG_STATE_HOME)
        ? env.XDG_STATE_HOME
        : (0,external_node_path_namespaceObject.join)(env.HOME || (0,external_node_os_namespaceObject.homedir)(), '.local', 'state');
    return (0,external_node_path_namespaceObject.join)(state, 'supabase-migration-guard', 'backups');
}
/**
 * Finds a pg_dump/pg_restore at least as new as the server. Installs the client with apt only on
 * GitHub-hosted Linux runners (passwordless sudo, disposable machine); never on other machines.
 */
async function resolvePgTools(ctx, serverMajor) {
    const runner = createProcessRunner();
    const hosted = process.env.RUNNER_ENVIRONMENT === 'github-hosted';
    return findPgTools({
        explicitPath: ctx.settings.pgDumpPath,
        serverMajor,
        runner,
        logger: ctx.logger,
        installer: hosted ? aptInstaller(runner, ctx.logger) : undefined,
    });
}
/** pg_dump custom format, read back by pg_restore --list, sha256 recorded: only then does it count. */
async function takeVerifiedBackup(ctx, serverMajor, found) {
    const tools = found ?? (await resolvePgTools(ctx, serverMajor));
    const info = await ctx.logger.group('Backup', () => takeBackup({
        target: ctx.settings.database,
        dir: ctx.settings.backupDir ?? defaultBackupDir(),
        environment: ctx.settings.environment,
        sha: ctx.run.sha,
        tools,
        runner: createProcessRunner(),
        logger: ctx.logger,
    }));
    return {
        path: info.path,
        sha256: info.sha256,
        sizeBytes: info.sizeBytes,
        durationMs: info.durationMs,
        pgDumpVersion: info.pgDumpVersion,
        entries: info.entries,
    };
}
/**
 * The backup stage of changing commands. `required`: no change happens without a verified backup.
 * `optional`: a failed backup is a warning. `off`: skipped, and the report says so.
 */
async function runBackupStage(ctx, result, session, 
/** Already found by the caller (restore needs them too): not looked up twice. */
tools) {
    const { report, finding } = await backupStage(ctx, session.serverMajor, tools);
    if (report)
        result.backup = report;
    if (finding)
        result.findings.push(finding);
}
/** The backup stage as values: the backup taken, or the warning an optional one that failed leaves. */
async function backupStage(ctx, serverMajor, tools) {
    const mode = ctx.settings.backup;
    if (mode === 'off') {
        ctx.logger.info('Backup: off (backup input)');
        return {};
    }
    try {
        return { report: await takeVerifiedBackup(ctx, serverMajor, tools) };
    }
    catch (error) {
        if (mode === 'required') {
            const hint = error instanceof GuardError ? error.hint : undefined;
            throw new GuardError('backup-failed', `No change was made: backup is required and it failed. ${error instanceof Error ? error.message : String(error)}`, {
                hint: hint ??
                    'Fix the backup (pg-dump-path, backup-dir), or set backup: optional or off to proceed without one.',
                cause: error,
            });
        }
        ctx.logger.warn(`Backup failed, continuing because backup is optional: ${errorMessage(error)}`);
        return {
            finding: {
                code: 'backup-failed',
                severity: 'warning',
                message: `Backup failed (backup: optional): ${errorMessage(error)}`,
            },
        };
    }
}

;// CONCATENATED MODULE: ./src/engine/revert.ts


/**
 * Parses the down migrations of `migrations` (newest first) and builds the single transaction that
 * reverts them and removes their history rows. Refuses, before anything runs, when a down
 * migration is missing or cannot run inside a transaction.
 */
async function buildRevertUnit(migrations) {
    const missing = migrations.filter((m) => !m.down);
    if (missing.length > 0) {
        throw new GuardError('rollback-impossible', `No down migration for ${missing.map((m) => `${m.version} (${m.path})`).join(', ')}`, {
            hint: 'Add <version>_<name>.down.sql (or a "-- migrate:down" section) for each, or restore a backup (strategy: restore).',
        });
    }
    const steps = [];
    for (const migration of [...migrations].reverse()) {
        const down = migration.down;
        const split = await splitStatements(down.source, down.start, down.end, down.path);
        const outside = split.statements.find((s) => s.nonTransactional);
        if (outside) {
            throw new GuardError('rollback-impossible', `${outside.nonTransactional} in a down migration cannot run inside the rollback transaction`, {
                location: { file: down.path, line: outside.line, column: outside.column },
                hint: 'Use the non-concurrent form in down migrations (e.g. DROP INDEX instead of DROP INDEX CONCURRENTLY).',
            });
        }
        const item = { migration, statements: split.statements, wrapped: split.wrapped };
        for (const statement of split.statements)
            steps.push({ kind: 'statement', migration: item, statement, part: down, role: 'down' });
        steps.push({ kind: 'record', migration: item });
    }
    return { kind: 'transaction', steps };
}

;// CONCATENATED MODULE: ./src/db/lock.ts


/**
 * The advisory lock every run of this tool takes on the target database: the bytes of the ASCII
 * string "mguard" read as one big-endian integer (0x6d6775617264), so it is recognisable in
 * pg_locks (classid 0x6d67, objid 0x75617264) and unlikely to collide with an application's keys.
 */
const MIGRATION_LOCK_ID = 120291118379620n;
/**
 * Runs `fn` while holding the session-level migration lock. A second run waits up to `timeoutMs`
 * (PostgreSQL's own lock_timeout bounds the wait, so waiters queue fairly) and then fails naming
 * the session that holds it.
 */
async function withAdvisoryLock(client, options, fn) {
    const started = Date.now();
    const lock = { waitedMs: 0 };
    const { rows } = await client.query('SELECT pg_try_advisory_lock($1::bigint) AS ok', [
        MIGRATION_LOCK_ID.toString(),
    ]);
    if (!rows[0].ok) {
        lock.waitedFor = await findLockHolder(client);
        options.logger.info(`Another migration run holds the lock on this database (${describeHolder(lock.waitedFor)}); ` +
            `waiting up to ${Math.round(options.timeoutMs / 1000)} s`);
        const stopWaiting = () => void options.cancelWait?.().catch(() => { });
        options.signal?.addEventListener('abort', stopWaiting, { once: true });
        try {
            if (options.signal?.aborted)
                throw new Error('aborted');
            await client.query(`SET lock_timeout = ${Math.max(1, Math.floor(options.timeoutMs))}`);
            await client.query('SELECT pg_advisory_lock($1::bigint)', [MIGRATION_LOCK_ID.toString()]);
        }
        catch (error) {
            if (options.signal?.aborted) {
                throw new GuardError('cancelled', `Cancelled (${String(options.signal.reason)}) while waiting for the migration lock; nothing was changed`, {
                    cause: error,
                });
            }
            if (error.code !== '55P03')
                throw error;
            const holder = (await findLockHolder(client)) ?? lock.waitedFor;
            throw new GuardError('lock-timeout', `Another migration run still holds the lock on this database after ${Math.round(options.timeoutMs / 1000)} s: ${describeHolder(holder)}`, {
                hint: `Wait for that run to finish (or cancel it), then run again. Use a GitHub concurrency group per environment to queue runs instead.${seeTroubleshooting('another-run-holds-the-lock')}`,
                cause: error,
            });
        }
        finally {
            options.signal?.removeEventListener('abort', stopWaiting);
            await client.query('RESET lock_timeout').catch(() => { });
        }
        lock.waitedMs = Date.now() - started;
    }
    try {
        return await fn(lock);
    }
    finally {
        await client
            .query('SELECT pg_advisory_unlock($1::bigint)', [MIGRATION_LOCK_ID.toString()])
            .catch(() => { });
    }
}
async function findLockHolder(client) {
    const { rows } = await client.query(`SELECT a.pid, a.application_name, a.usename, a.client_addr::text AS client_addr,
            extract(epoch FROM now() - a.backend_start)::int AS connected_seconds
       FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
      WHERE l.locktype = 'advisory' AND l.granted AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
        AND l.classid = ($1::bigint >> 32)::oid AND l.objid = ($1::bigint & 4294967295)::oid AND l.objsubid = 1
        AND l.pid <> pg_backend_pid()
      LIMIT 1`, [MIGRATION_LOCK_ID.toString()]);
    const row = rows[0];
    if (!row)
        return undefined;
    return {
        pid: row.pid,
        applicationName: row.application_name ?? '',
        user: row.usename ?? null,
        clientAddress: row.client_addr ?? null,
        connectedSeconds: row.connected_seconds ?? null,
    };
}
function describeHolder(holder) {
    if (!holder)
        return 'the holder could not be read from pg_stat_activity';
    const parts = [
        `pid ${holder.pid}`,
        holder.applicationName ? `"${holder.applicationName}"` : 'unnamed session',
    ];
    const extra = [
        holder.user ? `user ${holder.user}` : undefined,
        holder.clientAddress ? `from ${holder.clientAddress}` : undefined,
        holder.connectedSeconds !== null ? `connected ${holder.connectedSeconds} s ago` : undefined,
    ].filter(Boolean);
    return `${parts.join(' ')}${extra.length ? ` (${extra.join(', ')})` : ''}`;
}

;// CONCATENATED MODULE: ./src/db/abandoned-runs.ts

/** The migration lock is held by a session matching `who` (an SQL condition on l.pid). $2 is the lock id. */
const lockHeldBy = (who) => `EXISTS (
  SELECT 1 FROM pg_locks l
   WHERE l.locktype = 'advisory' AND l.granted AND ${who}
     AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
     AND l.classid = ($2::bigint >> 32)::oid AND l.objid = ($2::bigint & 4294967295)::oid AND l.objsubid = 1)`;
/** Some session other than this one holds the migration lock. */
const LOCK_HELD = lockHeldBy('l.pid <> pg_backend_pid()');
/**
 * The run's own session still exists (a pid reused by a later session does not count) and is
 * still the run's: it holds the lock or is at work. An idle session without the lock is one a
 * session pooler kept after the client died. A session of another role may hide its start time
 * and state: then the pid alone keeps the run alive.
 */
const SESSION_ALIVE = `EXISTS (
  SELECT 1 FROM pg_stat_activity a
   WHERE a.pid = r.session_pid
     AND (a.backend_start IS NULL OR r.session_started IS NULL OR a.backend_start = r.session_started)
     AND (a.state IS DISTINCT FROM 'idle' OR ${lockHeldBy('l.pid = a.pid')}))`;
/**
 * The query for the database's shape: rows written before the session columns existed (or by a
 * version that did not fill them) are judged by the lock instead, since every run that writes a
 * row holds it: alive while some session holds it.
 */
function findSql(shape) {
    const applied = shape.history
        ? `ARRAY(SELECT m.version FROM migration_guard.migrations m
              WHERE m.run_id = r.id AND m.method = 'applied'
                AND m.version IN (SELECT version FROM supabase_migrations.schema_migrations)
              ORDER BY m.applied_at, m.version)`
        : `'{}'::text[]`;
    const alive = shape.sessions
        ? `CASE WHEN r.session_pid IS NULL THEN ${LOCK_HELD} ELSE ${SESSION_ALIVE} END`
        : LOCK_HELD;
    return `SELECT r.id, r.command, r.environment, r.transaction_mode, r.started_at,
       ${shape.sessions ? 'r.session_pid' : 'NULL::int AS session_pid'}, r.actor, r.run_url, ${applied} AS applied,
       ${shape.sessions ? 'EXISTS (SELECT 1 FROM pg_stat_activity a WHERE a.pid = r.session_pid AND a.backend_start = r.session_started)' : 'false'} AS session_lingers
  FROM migration_guard.runs r
 WHERE r.status = 'running' AND r.id <> ALL ($1::bigint[]) AND NOT (${alive})
 ORDER BY r.id`;
}
/** Running rows whose session is gone; `except` are this run's own rows. Read-only. */
async function findAbandonedRuns(client, except = []) {
    const { rows } = await client.query(`SELECT to_regclass('migration_guard.runs') IS NOT NULL AS runs,
            EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = to_regclass('migration_guard.runs')
                      AND attname = 'session_pid' AND NOT attisdropped) AS sessions,
            to_regclass('supabase_migrations.schema_migrations') IS NOT NULL AS history`);
    if (!rows[0].runs)
        return [];
    const found = await client.query(findSql(rows[0]), [except, MIGRATION_LOCK_ID.toString()]);
    return found.rows.map(toAbandonedRun);
}
function toAbandonedRun(r) {
    return {
        id: Number(r.id),
        command: String(r.command),
        environment: String(r.environment),
        transactionMode: r.transaction_mode ?? null,
        startedAt: r.started_at.toISOString(),
        sessionPid: r.session_pid ?? null,
        actor: r.actor ?? null,
        runUrl: r.run_url ?? null,
        applied: r.applied ?? [],
        sessionLingers: r.session_lingers === true,
        closed: false,
    };
}
/**
 * Closes abandoned rows as `abandoned` with what the history shows they applied. Only under the
 * migration lock (no live run can then be among them) and only rows still `running`.
 */
async function closeAbandonedRuns(client, runs) {
    const closed = [];
    for (const run of runs) {
        const { rowCount } = await client.query(`UPDATE migration_guard.runs
          SET status = 'abandoned', applied = $2::text[], finished_at = clock_timestamp(), error = $3,
              details = coalesce(details, '{}'::jsonb) || jsonb_build_object('abandoned',
                jsonb_build_object('detectedAt', clock_timestamp(), 'detectedBySession', pg_backend_pid()))
        WHERE id = $1 AND status = 'running'`, [run.id, run.applied, describeAbandonedRun(run)]);
        if (rowCount)
            closed.push({ ...run, closed: true });
    }
    return closed;
}
/** One line a person can act on: which run, when, and what it left applied. */
function describeAbandonedRun(run) {
    const who = [run.actor ? `by ${run.actor}` : undefined, run.runUrl ? `(${run.runUrl})` : undefined]
        .filter(Boolean)
        .join(' ');
    const mode = run.transactionMode ? `, ${run.transactionMode} mode` : '';
    const session = run.sessionPid === null
        ? 'no session holds the lock'
        : `its session (pid ${run.sessionPid}) ${run.sessionLingers ? 'is idle without the migration lock (a connection pooler kept it)' : 'is gone'}`;
    const applied = run.applied.length
        ? `the history shows it applied ${run.applied.join(', ')}`
        : 'the history shows it applied nothing';
    return `Run #${run.id} (${run.command} on ${run.environment}${mode}, started ${run.startedAt}${who ? ` ${who}` : ''}) ended without finishing: ${session}; ${applied}`;
}

;// CONCATENATED MODULE: ./src/commands/abandoned.ts


/**
 * Finds runs that died without a word and says so. Under the migration lock (`close`) no other
 * live run can be among them, so their rows are closed as `abandoned`; without it (status, plan)
 * they are only reported. A failure here is a warning: it must not stop the command itself.
 */
async function reconcileAbandonedRuns(ctx, result, client, options) {
    try {
        const found = await findAbandonedRuns(client);
        if (found.length === 0)
            return;
        // Rows of an older version's table: brought up to date first (additive columns only).
        if (options.close)
            await ensureGuardSchema(client);
        const runs = options.close ? await closeAbandonedRuns(client, found) : found;
        result.abandonedRuns = runs;
        for (const run of runs) {
            ctx.logger.warn(`${describeAbandonedRun(run)}. ${run.closed
                ? 'Its record is now closed as abandoned.'
                : 'It is still recorded as running; the next apply (or rollback) closes it as abandoned.'}${run.applied.length ? ' Check that what it applied is what you expect (status lists it).' : ''}`);
        }
    }
    catch (error) {
        ctx.logger.warn(`Could not check for runs that ended without finishing: ${error.message}`);
    }
}

;// CONCATENATED MODULE: ./src/commands/run-record.ts



/** Opens this run's row in migration_guard.runs (committed at once, so a failed run is on record too). */
function startRun(ctx, client, command, sessionPid) {
    return startRunRecord(client, ctx.scrubber, {
        sessionPid,
        command,
        environment: ctx.settings.environment,
        transactionMode: ctx.settings.transactionMode,
        actor: ctx.run.actor,
        runUrl: ctx.run.runUrl,
        repository: ctx.run.repository,
        ref: ctx.run.ref,
        sha: ctx.run.sha,
    });
}
/** Each session's backend pid as the server reported it (pg_backend_pid()), noted by withSession. */
const sessionPids = new WeakMap();
function noteSessionPid(client, pid) {
    sessionPids.set(client, pid);
}
/**
 * The pid of the session that runs the migrations: as the server reported it, else the one pg
 * received at connect time (BackendKeyData; behind a pooler that may not be the server's).
 */
function backendPidOf(client) {
    const pid = sessionPids.get(client) ?? client.processID;
    return typeof pid === 'number' ? pid : undefined;
}
const UNDEFINED_TABLE = '42P01';
/** A lost connection (no SQLSTATE from a live server, or the server ending the session). */
function run_record_isConnectionLoss(error) {
    const code = error?.code;
    if (typeof code !== 'string' || !/^[0-9A-Z]{5}$/.test(code))
        return true;
    return code.startsWith('08') || code.startsWith('57P');
}
/**
 * This run's row, opened once: before anything runs, or (when the run streams, see
 * engine/stream.ts) from the control connection as soon as every file has parsed, so a file that
 * does not parse leaves no trace, not even our own schema. Either way the row is committed before
 * the migrations' history rows, which name it.
 */
class RunRecord {
    ctx;
    client;
    opening;
    openingOn;
    constructor(ctx, client) {
        this.ctx = ctx;
        this.client = client;
    }
    /** Whether the row is open or being opened. */
    get started() {
        return this.opening !== undefined;
    }
    /**
     * Opens the row on `on` (default: the session's connection) unless it is open or opening. When
     * an opening under way on another connection fails (the control connection, terminated by a
     * migration, say), the row is opened on `on` instead of failing the caller with that error.
     */
    async open(on = this.client) {
        if (!this.opening) {
            const opening = (async () => {
                await ensureGuardSchema(on);
                // The row names the session that runs the migrations, whichever connection writes it.
                return startRun(this.ctx, on, 'apply', backendPidOf(this.client));
            })();
            // A failed attempt (say, on the control connection) may be retried on the session's connection.
            opening.catch(() => {
                if (this.opening === opening)
                    this.opening = undefined;
            });
            this.opening = opening;
            this.openingOn = on;
        }
        const opening = this.opening;
        const openingOn = this.openingOn;
        try {
            return await opening;
        }
        catch (error) {
            if (openingOn === on)
                throw error;
            if (this.opening === opening)
                this.opening = undefined;
            return this.open(on);
        }
    }
    /**
     * Closes the row with the run's outcome, on `on`, and returns its id. When the control
     * connection could not open it, the row was opened inside the migration transaction; if that
     * transaction failed, the row went with it, and a new one is opened so the failure is on record.
     */
    async finish(outcome, on = this.client) {
        try {
            return await this.finishOn(on, outcome);
        }
        catch (error) {
            if (!run_record_isConnectionLoss(error))
                throw error;
        }
        // The connection is gone (a migration may have terminated its own session): the outcome is
        // recorded on a new one rather than left `running`.
        const settings = this.ctx.settings;
        const fresh = await connect(settings.database, {
            applicationName: `${applicationName(settings.command, settings.environment, this.ctx.run)} recovery`,
        });
        try {
            return await this.finishOn(fresh, outcome);
        }
        finally {
            await fresh.end().catch(() => { });
        }
    }
    async finishOn(on, outcome) {
        const id = await this.open(on);
        // On a fresh database our schema itself may have gone with that transaction.
        const { scrubber } = this.ctx;
        const closed = await finishRunRecord(on, scrubber, id, outcome).catch((error) => {
            if (error?.code === UNDEFINED_TABLE)
                return false;
            throw error;
        });
        if (closed)
            return id;
        this.opening = undefined;
        const reopened = await this.open(on);
        await finishRunRecord(on, scrubber, reopened, outcome);
        return reopened;
    }
}

;// CONCATENATED MODULE: ./src/commands/session-effects.ts


const HAZARDOUS_CALL = /\b(pg_advisory_unlock_all|pg_advisory_unlock|pg_terminate_backend|pg_cancel_backend)\s*\(/gi;
/** Calls to those functions in the up part of each file, by file:line (line comments skipped). */
function findSessionHazards(migrations) {
    const found = [];
    for (const m of migrations) {
        const { source, start, end } = m.up;
        const text = source.slice(start, end);
        const firstLine = source.slice(0, start).split('\n').length;
        for (const match of text.matchAll(HAZARDOUS_CALL)) {
            const before = text.slice(0, match.index);
            const lineStart = before.lastIndexOf('\n') + 1;
            if (before.slice(lineStart).includes('--'))
                continue;
            found.push({
                version: m.version,
                file: m.up.path,
                line: firstLine + before.split('\n').length - 1,
                call: match[1].toLowerCase(),
            });
        }
    }
    return found;
}
const WHAT_IT_DOES = {
    pg_advisory_unlock_all: 'releases every advisory lock of the session, the migration lock included: another run could start while this one goes on',
    pg_advisory_unlock: 'may release the migration lock if it names its key',
    pg_terminate_backend: "may end other sessions, this run's own connections included",
    pg_cancel_backend: "may cancel other sessions' queries, this run's own included",
};
/** Before anything runs (plan, apply): what the pending files will do to sessions and locks. */
function warnSessionHazards(ctx, hazards) {
    for (const h of hazards)
        ctx.logger.warn(`${h.file}:${h.line}: calls ${h.call}(), which ${WHAT_IT_DOES[h.call]}`);
}
/** Whether this session still holds the migration lock (false once released, whoever did it). */
async function holdsMigrationLock(client) {
    const { rows } = await client.query(`SELECT EXISTS (SELECT 1 FROM pg_locks
                     WHERE locktype = 'advisory' AND granted AND pid = pg_backend_pid()
                       AND classid = ($1::bigint >> 32)::oid AND objid = ($1::bigint & 4294967295)::oid
                       AND objsubid = 1) AS held`, [MIGRATION_LOCK_ID.toString()]);
    return rows[0].held;
}
/**
 * After a run that held the lock: says what the migrations did to it and to the run's control
 * connection, blaming the file that called the function, and notes it on the run's record.
 */
async function reportSessionEffects(ctx, result, client, observed) {
    const effects = [];
    const blame = (calls) => observed.hazards.find((h) => calls.includes(h.call));
    if (observed.lockHeld === false) {
        const culprit = blame(['pg_advisory_unlock_all', 'pg_advisory_unlock']);
        effects.push({
            effect: 'lock-released',
            file: culprit?.file,
            line: culprit?.line,
            call: culprit?.call,
            message: culprit
                ? `${culprit.file}:${culprit.line} released the migration lock (${culprit.call}()) during the run: from then on another run could start beside this one. The lock was not held when the run ended`
                : 'The migration lock was released during the run (no migration file calls an advisory unlock function: another session ended it): from then on another run could start beside this one',
        });
    }
    const terminator = blame(['pg_terminate_backend']);
    // A session lost for another reason (the network) is reported by the command itself.
    if (observed.sessionLost && terminator) {
        effects.push({
            effect: 'session-terminated',
            file: terminator.file,
            line: terminator.line,
            call: terminator.call,
            message: `${terminator.file}:${terminator.line} terminated this run's own session (${terminator.call}()): its open transaction was rolled back and the migration lock went with the session`,
        });
    }
    if (observed.controlLost) {
        const culprit = blame(['pg_terminate_backend']);
        effects.push({
            effect: 'control-connection-terminated',
            file: culprit?.file,
            line: culprit?.line,
            call: culprit?.call,
            message: `${culprit ? `${culprit.file}:${culprit.line} terminated` : 'Another session terminated'} this run's control connection (${culprit ? `${culprit.call}()` : 'pg_terminate_backend'}): from then on the run could not be cancelled cleanly nor name what blocked it`,
        });
    }
    if (effects.length === 0)
        return;
    result.sessionEffects = effects;
    for (const e of effects)
        ctx.logger.warn(e.message);
    result.message = `${result.message} Warning: ${effects.map((e) => e.message).join('. ')}.`;
    // On a lost session the command has recorded the failure on a new connection already.
    if (result.runId !== undefined && !observed.sessionLost) {
        await noteOnRunRecord(client, result.runId, { sessionEffects: effects }).catch((error) => ctx.logger.warn(`Could not note this on the run's record: ${error.message}`));
    }
}

;// CONCATENATED MODULE: ./src/commands/session.ts














/**
 * The common opening of every command: read the files, connect, (optionally) take the migration
 * lock, read the history and compare. Nothing here writes to the database, except that a command
 * holding the lock closes the rows of runs that died without a word (commands/abandoned.ts).
 */
async function withSession(ctx, result, options, fn) {
    const { settings, logger } = ctx;
    // Commands that never look at files (backup, restore) work without a migrations folder.
    const readFiles = async () => {
        const set = options.files === false
            ? { dir: settings.migrationsDir, migrations: [], skipped: [] }
            : await discoverMigrations(settings.migrationsDir, ctx.cwd);
        result.skippedFiles = set.skipped;
        for (const skipped of set.skipped)
            logger.warn(`Skipped ${skipped.fileName}: ${skipped.reason}`);
        return set;
    };
    const appName = applicationName(settings.command, settings.environment, ctx.run);
    // The files are read while the connection opens; a problem with them is still reported first.
    return withClientAfter(settings.database, { applicationName: appName }, readFiles, async (client, set) => {
        const { rows } = await client.query("SELECT current_setting('server_version') AS server_version, current_setting('server_version_num') AS server_version_num, pg_backend_pid() AS pid");
        const serverMajor = Math.floor(Number(rows[0].server_version_num) / 10000);
        noteSessionPid(client, rows[0].pid);
        result.database = { display: settings.database.display, serverVersion: rows[0].server_version };
        logger.info(`Connected to ${settings.database.display} (PostgreSQL ${rows[0].server_version})`);
        ctx.onConnected?.();
        const inner = async () => {
            await reconcileAbandonedRuns(ctx, result, client, { close: options.lock });
            const history = await readHistoryTable(client).catch((error) => {
                // backup and restore never compare files with the history: one they cannot read is no reason to stop.
                if (options.files !== false)
                    throw error;
                logger.warn(errorMessage(error));
                return undefined;
            });
            const plan = buildPlan(set, history?.rows ?? [], await readChecksums(client), { allowOutOfOrder: settings.allowOutOfOrder }, await readPartialMigrations(client));
            if (options.files !== false)
                result.findings = plan.findings;
            result.currentVersion = plan.currentVersion;
            result.pendingCount = plan.pending.length;
            const hazards = findSessionHazards(plan.pending);
            if (settings.command === 'plan' || settings.command === 'apply')
                warnSessionHazards(ctx, hazards);
            // The control connection only watches: it cancels on abort and reads lock blockers. Its end
            // before the run closes it means someone (a migration, say) terminated it.
            let controlLost = false;
            let closing = false;
            const runner = new StatementRunner(client, {
                openControl: async () => {
                    const control = await connect(settings.database, { applicationName: `${appName} control` });
                    control.on('end', () => (controlLost ||= !closing));
                    return control;
                },
                backendPid: rows[0].pid,
                signal: ctx.signal,
                lockTimeoutMs: settings.lockTimeoutMs,
            });
            try {
                const historyReady = history !== undefined && history.missingColumns.length === 0;
                return await fn({ client, set, plan, serverMajor, runner, historyReady });
            }
            finally {
                // Still on this session: whether it kept the lock it took, and whether it is still there.
                let sessionLost = false;
                const lockHeld = await holdsMigrationLock(client).catch(() => void (sessionLost = true));
                await reportSessionEffects(ctx, result, client, {
                    lockHeld: options.lock ? lockHeld : undefined,
                    sessionLost,
                    controlLost,
                    hazards,
                });
                closing = true;
                await runner.close();
            }
        };
        if (!options.lock)
            return inner();
        const cancelWait = () => withClient(settings.database, { applicationName: `${appName} control` }, async (control) => {
            await control.query('SELECT pg_cancel_backend($1)', [rows[0].pid]);
        });
        const lockOptions = { timeoutMs: settings.runLockTimeoutMs, logger, signal: ctx.signal, cancelWait };
        return withAdvisoryLock(client, lockOptions, async (lock) => {
            result.lock = {
                waitedMs: lock.waitedMs,
                waitedFor: lock.waitedFor ? describeHolder(lock.waitedFor) : undefined,
                retries: [],
            };
            return inner();
        });
    });
}
/** The execution settings every command shares: the session's runner and the lock/timeout inputs. */
function executionOptions(ctx, session, record) {
    return baseExecuteOptions(ctx.settings, ctx.logger, session.runner, record);
}

;// CONCATENATED MODULE: ./src/commands/revert-after-failure.ts





/**
 * A per-file run failed after committing some of its files: revert those with their down
 * migrations, newest first, in one transaction. Where one has no down migration nothing is
 * reverted, and the report says exactly what is applied and what to do.
 */
async function revertAfterFailure(ctx, session, committed) {
    const versions = committed.map((m) => m.version);
    const { logger } = ctx;
    let unit;
    try {
        unit = await buildRevertUnit(committed);
    }
    catch (error) {
        const reason = errorMessage(error);
        logger.error(`Automatic rollback not possible: ${reason}`);
        return {
            kind: 'automatic',
            reverted: [],
            succeeded: false,
            error: { message: reason, ...(error instanceof GuardError ? error.location : {}) },
            stillApplied: versions,
            nextStep: `Applied and NOT reverted: ${versions.join(', ')}. Add the missing down migration(s) and run rollback with count: ${versions.length}, ` +
                'or fix the failing migration and run apply again to finish the release.',
        };
    }
    logger.info(`Reverting ${versions.join(', ')} with their down migrations (newest first, one transaction)`);
    const outcome = await executeUnits([unit], executionOptions(ctx, session, (items) => forgetMigrations(session.client, items.map((i) => i.migration.migration.version))));
    if (outcome.failure) {
        return {
            kind: 'automatic',
            reverted: [],
            succeeded: false,
            error: outcome.failure.error,
            stillApplied: versions,
            nextStep: `The down migrations failed and were rolled back, so ${versions.join(', ')} are still applied. Fix the down migration named above, then run rollback with count: ${versions.length}.`,
        };
    }
    return { kind: 'automatic', reverted: [...versions].reverse(), succeeded: true };
}

;// CONCATENATED MODULE: ./src/commands/apply.ts








/**
 * apply: the staged apply (engine/staged-apply/apply.ts) under the migration lock, in a session
 * opened here; the report is built once from its outcome (engine/staged-apply/result.ts).
 */
async function applyCommand(ctx, result) {
    const { settings, logger } = ctx;
    result.transactionMode = settings.transactionMode;
    return withSession(ctx, result, { lock: true }, async (session) => {
        const outcome = await stagedApply({
            settings,
            logger,
            session,
            actor: ctx.run.actor,
            signal: ctx.signal,
            events: ctx.events,
            runRecord: new RunRecord(ctx, session.client),
            backup: () => backupStage(ctx, session.serverMajor),
            revert: (migrations) => revertAfterFailure(ctx, session, migrations),
            reconnect: () => connect(settings.database, {
                applicationName: `${applicationName('apply', settings.environment, ctx.run)} recovery`,
            }),
        });
        // The one place the apply's part of the report is decided; withSession adds what it observes after.
        Object.assign(result, resultOfApply(result, outcome));
        if (outcome.stage === 'stopped')
            throw outcome.error;
        if (outcome.stage === 'apply-failed')
            logger.error(result.message);
        else if (outcome.stage !== 'rehearsal-failed')
            logger.info(result.message);
        return result;
    });
}

;// CONCATENATED MODULE: ./src/audit/export.ts

const export_MANUAL_EVENTS = new Set(['workflow_dispatch', 'repository_dispatch']);
function buildAuditReport(all, range, chain) {
    const inRange = all.filter((row) => {
        const at = Date.parse(row.at);
        return (!range.since || at >= range.since.getTime()) && (!range.until || at < range.until.getTime());
    });
    const byRun = new Map();
    for (const row of inRange)
        byRun.set(row.runKey, [...(byRun.get(row.runKey) ?? []), row]);
    const runs = [...byRun.values()].map(summariseRun);
    return {
        range: { since: range.since?.toISOString(), until: range.until?.toISOString() },
        chain,
        runs,
        events: inRange,
    };
}
function summariseRun(rows) {
    const first = rows[0];
    const ended = rows.find((r) => r.event === 'run-ended' || r.event === 'manual-run-refused');
    return {
        runKey: first.runKey,
        runId: rows.find((r) => r.runId !== null)?.runId ?? null,
        startedAt: first.at,
        endedAt: ended?.at,
        environment: first.environment,
        command: first.command,
        actor: first.actor,
        triggeringActor: first.triggeringActor,
        eventName: first.eventName,
        outcome: ended
            ? ended.event === 'manual-run-refused'
                ? 'refused'
                : (ended.outcome ?? 'unknown')
            : 'no end recorded',
        applied: rows.filter((r) => r.event === 'migration-applied').map((r) => r.version ?? ''),
        rolledBack: rows
            .filter((r) => r.event === 'migration-rolled-back' || r.event === 'migration-reverted')
            .map((r) => r.version ?? ''),
        reason: first.reason,
        error: ended?.error ?? rows.find((r) => r.error)?.error ?? null,
        runUrl: first.runUrl,
        manual: export_MANUAL_EVENTS.has(first.eventName ?? ''),
        ...(ended?.event === 'manual-run-refused' && { refusal: refusalOf(ended) }),
    };
}
function refusalOf(row) {
    const d = row.details ?? {};
    return {
        rule: typeof d.rule === 'string' ? d.rule : 'unknown',
        role: typeof d.role === 'string' ? d.role : null,
        allowedRoles: Array.isArray(d.allowedRoles) ? d.allowedRoles.map(String) : [],
    };
}
function auditJson(report) {
    return `${JSON.stringify(report, null, 2)}\n`;
}
/** Every stored column: the id, the hashed fields in their order, then the two hashes. */
const CSV_COLUMNS = ['id', ...HASHED_FIELDS, 'prevHash', 'hash'];
/** One line per audit row (RFC 4180 quoting); a leading =, +, - or @ is defused for spreadsheets. */
function auditCsv(report) {
    const cell = (value) => {
        if (value === null || value === undefined)
            return '';
        let text = typeof value === 'object' ? JSON.stringify(value) : String(value);
        if (/^[=+\-@]/.test(text))
            text = `'${text}`;
        return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
    };
    const lines = [
        CSV_COLUMNS.join(','),
        ...report.events.map((row) => CSV_COLUMNS.map((c) => cell(row[c])).join(',')),
    ];
    return `${lines.join('\r\n')}\r\n`;
}
function auditMarkdown(report) {
    const { chain, range, runs } = report;
    const md = (text) => (text ?? '').replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
    const lines = [
        '## Migration audit report',
        '',
        `Range: ${range.since ?? 'the beginning'} to ${range.until ?? 'now'} · ${runs.length} run(s), ${report.events.length} event(s)`,
        '',
        chain.valid
            ? `Hash chain: **verified**, ${chain.rows} row(s)${chain.head ? `, head \`${chain.head}\`` : ''}.`
            : `Hash chain: **BROKEN** at row ${chain.firstBroken?.id} (${chain.firstBroken?.event}, ${chain.firstBroken?.at}): ${chain.firstBroken?.problem}.`,
        '',
    ];
    if (runs.length > 0) {
        lines.push('| started (UTC) | environment | command | by | trigger | result | applied | reason |', '|---|---|---|---|---|---|---|---|', ...runs.map((r) => `| ${r.runUrl ? `[${r.startedAt}](${r.runUrl})` : r.startedAt} | ${md(r.environment)} | ${md(r.command)} | ${md(r.triggeringActor ?? r.actor)} | ${md(r.eventName ?? 'local')} | ${md(r.outcome)} | ${r.applied.length ? md(r.applied.join(', ')) : '—'} | ${md(r.reason) || '—'} |`), '');
    }
    const section = (title, items) => {
        if (items.length > 0)
            lines.push(`### ${title}`, '', ...items, '');
    };
    section('Rollbacks', runs
        .filter((r) => r.rolledBack.length > 0)
        .map((r) => `- ${r.startedAt} ${md(r.environment)}: ${md(r.rolledBack.join(', '))} (${md(r.command)}, ${md(r.outcome)})`));
    section('Manual operations', runs
        .filter((r) => r.manual)
        .map((r) => `- ${r.startedAt} ${md(r.environment)} ${md(r.command)} by ${md(r.triggeringActor ?? r.actor)}: ${md(r.outcome)}${r.refusal ? ` (${md(r.refusal.rule)}; role ${md(r.refusal.role ?? 'unknown')}, allowed ${md(r.refusal.allowedRoles.join(', '))})` : ''}; reason: ${md(r.reason) || 'none given'}`));
    section('Failed runs', runs
        .filter((r) => ['failed', 'rolled-back', 'cancelled', 'abandoned', 'refused'].includes(r.outcome))
        .map((r) => `- ${r.startedAt} ${md(r.environment)} ${md(r.command)}: ${md(r.outcome)}: ${md(r.error) || 'no error recorded'}`));
    return `${lines.join('\n')}\n`;
}

;// CONCATENATED MODULE: ./src/commands/audit.ts








/**
 * audit: verifies the whole hash chain of migration_guard.audit_log and exports the rows of
 * `since`/`until` as Markdown, CSV and JSON. Read-only. A broken chain fails the command, naming
 * the first row that no longer matches.
 */
async function auditCommand(ctx, result) {
    const { settings, logger } = ctx;
    const appName = applicationName('audit', settings.environment, ctx.run);
    const rows = await withClient(settings.database, { applicationName: appName }, async (client) => (await auditLogExists(client)) ? readAuditLog(client) : []);
    const broken = verifyChain(rows);
    const report = buildAuditReport(rows, { since: settings.since, until: settings.until }, { rows: rows.length, valid: !broken, head: rows[rows.length - 1]?.hash, firstBroken: broken });
    const dir = exportDir(ctx);
    await (0,promises_namespaceObject.mkdir)(dir, { recursive: true, mode: 0o700 });
    const stem = (0,external_node_path_namespaceObject.join)(dir, `migration-guard-audit-${settings.environment}`);
    const files = { markdown: `${stem}.md`, csv: `${stem}.csv`, json: `${stem}.json` };
    const markdown = auditMarkdown(report);
    await write(files.markdown, markdown);
    await write(files.csv, auditCsv(report));
    await write(files.json, auditJson(report));
    result.audit = {
        rows: rows.length,
        valid: !broken,
        head: report.chain.head,
        firstBroken: broken,
        runs: report.runs.length,
        events: report.events.length,
        range: report.range,
        files,
        markdown,
    };
    if (broken) {
        result.status = 'failed';
        result.message = `The audit log's hash chain is broken at row ${broken.id} (${broken.event}, ${broken.at}): ${broken.problem}. The exports were written for inspection.`;
        result.error = {
            message: result.message,
            hint: 'Someone changed the audit log outside this tool (the trigger that refuses changes was disabled or bypassed). Compare with an earlier export.',
        };
        logger.error(result.message);
        return result;
    }
    result.status = 'success';
    result.message =
        rows.length === 0
            ? 'The audit log is empty (no run has written to it yet).'
            : `Audit log verified: ${rows.length} row(s), hash chain intact. ${report.runs.length} run(s) in the range; exports in ${dir}.`;
    logger.info(result.message);
    return result;
}
function exportDir(ctx) {
    if (ctx.settings.reportPath)
        return (0,external_node_path_namespaceObject.dirname)((0,external_node_path_namespaceObject.resolve)(ctx.cwd ?? '.', ctx.settings.reportPath));
    return process.env.RUNNER_TEMP || (0,external_node_path_namespaceObject.resolve)(ctx.cwd ?? '.');
}
async function write(path, text) {
    await (0,promises_namespaceObject.writeFile)(path, text, { mode: 0o600 });
    await (0,promises_namespaceObject.chmod)(path, 0o600);
}

;// CONCATENATED MODULE: ./src/commands/backup.ts


/** backup: a verified pg_dump backup and nothing else. */
async function backupCommand(ctx, result) {
    return withSession(ctx, result, { lock: false, files: false }, async ({ serverMajor }) => {
        result.backup = await takeVerifiedBackup(ctx, serverMajor);
        result.status = 'success';
        result.message = `Backup written to ${result.backup.path} (sha256 ${result.backup.sha256}).`;
        return result;
    });
}

;// CONCATENATED MODULE: ./src/db/transaction.ts
/** Runs `fn` inside BEGIN … COMMIT; any error rolls back and is rethrown. */
async function withTransaction(client, fn) {
    await client.query('BEGIN');
    try {
        const result = await fn();
        await client.query('COMMIT');
        return result;
    }
    catch (error) {
        // The connection may be gone; the server then rolls back by itself.
        await client.query('ROLLBACK').catch(() => { });
        throw error;
    }
}

;// CONCATENATED MODULE: ./src/commands/baseline.ts







/**
 * baseline: records pending migrations up to `target-version` (`all`: every file on disk; there
 * is no default, see settings.ts) as applied without running them, for adopting a database whose
 * schema already matches the files.
 */
async function baselineCommand(ctx, result) {
    const { settings, logger } = ctx;
    return withSession(ctx, result, { lock: true }, async ({ client, plan, set, historyReady }) => {
        const target = settings.targetVersion === 'all' ? undefined : settings.targetVersion;
        if (target && !set.migrations.some((m) => m.version === target)) {
            throw new GuardError('invalid-input', `target-version ${target} matches no migration file in ${settings.migrationsDir}`, {
                hint: 'Pass the version (leading digits of the file name) of the newest migration the database already has.',
            });
        }
        const drift = plan.findings.filter((f) => f.code === 'drift' || f.code === 'missing-locally' || f.code === 'invalid-version');
        if (drift.length > 0) {
            throw new GuardError('drift', `Nothing was baselined: the history and the files disagree:\n${drift.map((f) => `  - ${f.message}`).join('\n')}`);
        }
        const toMark = plan.pending.filter((m) => !target || compareVersions(m.version, target) <= 0);
        if (toMark.length === 0) {
            result.status = 'nothing-to-do';
            result.message = 'Nothing to baseline: those migrations are already recorded as applied.';
            logger.info(result.message);
            return result;
        }
        await ensureGuardSchema(client);
        const runId = await startRunRecord(client, ctx.scrubber, {
            command: 'baseline',
            environment: settings.environment,
            actor: ctx.run.actor,
            runUrl: ctx.run.runUrl,
            repository: ctx.run.repository,
            ref: ctx.run.ref,
            sha: ctx.run.sha,
        });
        result.runId = runId;
        await withTransaction(client, async () => {
            // The history table is created, or an older CLI's upgraded, as the CLI does it, with the rows.
            await client.query(sessionSettings(settings, 'LOCAL'));
            if (!historyReady)
                await ensureHistoryTable(client);
            for (const m of toMark) {
                await insertHistoryRow(client, { version: m.version, name: m.name, statements: [] });
                await recordChecksum(client, {
                    version: m.version,
                    name: m.name,
                    checksum: m.checksum,
                    appliedBy: ctx.run.actor,
                    runId,
                    method: 'baseline',
                });
            }
        });
        result.migrations = toMark.map((m) => ({
            version: m.version,
            name: m.name,
            file: m.path,
            status: 'baselined',
            durationMs: 0,
            statements: 0,
            atomic: true,
            nonAtomicReasons: [],
        }));
        result.applied = toMark.map((m) => m.version);
        result.pendingCount = plan.pending.length - toMark.length;
        result.currentVersion = [plan.currentVersion, ...result.applied]
            .filter((v) => !!v)
            .sort(compareVersions)
            .pop();
        result.status = 'success';
        result.message = `Marked ${toMark.length} migration(s) as applied without running them (up to ${toMark[toMark.length - 1].version}).`;
        await finishRunRecord(client, ctx.scrubber, runId, { status: 'success', applied: result.applied });
        logger.info(result.message);
        return result;
    });
}

;// CONCATENATED MODULE: ./src/commands/changed.ts
/**
 * Whether the run left the database different from before it, read from the final result (the
 * one place that knows what stayed): the `changed` output, the JSON report and every renderer.
 *
 * - apply: a migration this run committed and did not revert (per-file mode, or an `all` run cut
 *   by a statement that commits on its own), a file partly committed (statements outside a
 *   transaction, no history row), a failed statement outside a transaction that left something
 *   behind it could not clean up (an INVALID index), or a schema that differs from before the run
 *   after a failure (a down migration that did not undo all of its file).
 * - rollback: the down migrations' transaction committed, or a restore went through.
 * - baseline: history rows were written.
 * - every other command (plan, status, backup, audit) never changes it.
 *
 * A rehearsal, a rolled-back transaction, a refusal before the run and the tool's own records
 * (run records, checksums, the audit log) are not changes.
 */
function databaseChanged(result) {
    switch (result.command) {
        case 'apply':
            return (result.applied.length > 0 ||
                (result.committedBeforeFailure?.length ?? 0) > 0 ||
                result.migrations.some((m) => m.status === 'applied' || m.status === 'partially-applied') ||
                (result.nonTransactional ?? []).some((n) => n.failed && n.leftBehind && !n.cleanedUp) ||
                schemaDiffers(result.schemaFingerprint));
        case 'rollback':
            return (result.rollback?.succeeded === true &&
                (result.rollback.kind === 'restore' || result.rollback.reverted.length > 0));
        case 'baseline':
            return result.applied.length > 0;
        default:
            return false;
    }
}
/** A failed run compares the schema before and after it; the files' own word does not settle it. */
function schemaDiffers(fingerprint) {
    return Boolean(fingerprint?.before && fingerprint.after && fingerprint.before !== fingerprint.after);
}

;// CONCATENATED MODULE: ./src/version.ts
/** Reported in every run result; keep in step with package.json. */
const TOOL_VERSION = '0.1.0';

;// CONCATENATED MODULE: ./src/commands/context.ts

/** A result with nothing decided yet; handlers fill it in. */
function newResult(ctx, startedAt = new Date()) {
    return {
        tool: { name: 'supabase-migration-guard', version: TOOL_VERSION },
        command: ctx.settings.command,
        environment: ctx.settings.environment,
        status: 'failed',
        changed: false,
        startedAt: startedAt.toISOString(),
        finishedAt: startedAt.toISOString(),
        durationMs: 0,
        database: { display: ctx.settings.database.display },
        runUrl: ctx.run.runUrl,
        migrations: [],
        applied: [],
        pendingCount: 0,
        findings: [],
        skippedFiles: [],
        message: '',
    };
}

;// CONCATENATED MODULE: ./src/commands/plan.ts








/**
 * plan: what apply would do, proven by running it: drift and order checks, then every pending
 * statement in a transaction that is always rolled back, under the lock timeout. Changes nothing
 * (except sequences, which PostgreSQL never rolls back).
 */
async function planCommand(ctx, result) {
    const { settings, logger } = ctx;
    result.transactionMode = settings.transactionMode;
    return withSession(ctx, result, { lock: false }, async ({ plan, runner }) => {
        result.status_rows = plan.rows;
        const blocking = result.findings.filter((f) => f.severity === 'error');
        if (blocking.length > 0) {
            throw new GuardError('drift', `apply would refuse to run: the migration history and the files disagree:\n${blocking.map((f) => `  - ${f.message}`).join('\n')}`);
        }
        if (plan.pending.length === 0) {
            result.status = 'nothing-to-do';
            result.message = 'Nothing to apply: every migration is already applied.';
            return result;
        }
        refuseOversizedFiles(plan.pending);
        const prepared = await prepareMigrations(plan.pending);
        // A file an earlier run left partly applied is rehearsed from where apply would resume it.
        const execution = buildExecutionPlan(resumePartialFiles(prepared, plan.partial), settings.transactionMode);
        reportTimeoutChanges(result, logger, prepared, settings);
        result.migrations = prepared.map((p) => {
            const reasons = execution.nonAtomic.get(p.migration.version) ?? [];
            const notes = notesOf(p);
            return {
                version: p.migration.version,
                name: p.migration.name,
                file: p.migration.path,
                status: 'pending',
                durationMs: 0,
                statements: p.statements.length,
                atomic: reasons.length === 0,
                nonAtomicReasons: reasons,
                ...(notes && { notes }),
            };
        });
        await runner.start();
        const rehearsal = await rehearse(execution.units, {
            runner,
            lockTimeoutMs: settings.lockTimeoutMs,
            statementTimeoutMs: settings.statementTimeoutMs,
        });
        result.rehearsal = { ran: true, notRehearsed: rehearsal.notRehearsed };
        if (rehearsal.failure) {
            const { error, version } = rehearsal.failure;
            const failed = result.migrations.find((m) => m.version === version);
            if (failed)
                Object.assign(failed, { status: 'failed', error });
            result.error = error;
            if (ctx.signal?.aborted) {
                result.status = 'cancelled';
                result.cancelled = true;
                result.message = `${error.message}. The rehearsal was rolled back; nothing was changed.`;
                return result;
            }
            result.status = 'failed';
            result.message = `${formatLocation(error)}${error.message}. apply would fail here; nothing was changed.`;
            return result;
        }
        result.status = 'success';
        result.message = `${plan.pending.length} pending migration(s) rehearsed and rolled back without error${rehearsal.notRehearsed.length ? ` (${rehearsal.notRehearsed.length} statement(s) could not be rehearsed)` : ''}; nothing was changed.`;
        logger.info(result.message);
        return result;
    });
}

;// CONCATENATED MODULE: ./src/backup/restore.ts







/** Platform schemas of a Supabase project: owned by Supabase's roles or full of its extensions. */
const SUPABASE_KEEP_SCHEMAS = 'auth,storage,realtime,_realtime,extensions,graphql,graphql_public,vault,pgsodium,pgsodium_masks,net,supabase_functions,_analytics,pgbouncer,cron,pgtle,pgmq,topology'.split(',');
const restore_DEFAULT_TIMEOUT_MS = 2 * 60 * 60_000;
/** Objects PostgreSQL can drop and recreate without losing data; everything else outside the scope stops the restore. */
const ATTACHMENTS = new Set('pg_trigger,pg_policy,pg_rewrite,pg_event_trigger,pg_publication_rel,pg_default_acl'.split(','));
const GLOBALS_BY_NAME = new Set(['EXTENSION', 'EVENT TRIGGER', 'PUBLICATION']);
/**
 * Makes the database equal to the backup for everything the backup covers, in one transaction:
 * a psql session with --single-transaction first drops every schema in scope (those in the backup
 * and those created since), then runs pg_restore's script. A failure anywhere rolls all of it back.
 */
async function restoreBackup(options) {
    const { target, tools, runner, logger } = options;
    const started = Date.now();
    const path = (0,external_node_path_namespaceObject.resolve)(options.path);
    const untouched = (message, hint, code = 'restore-failed') => new GuardError(code, `${message}. Nothing was changed.`, { hint });
    if (!(await (0,promises_namespaceObject.stat)(path).catch(() => undefined))?.isFile()) {
        throw untouched(`The backup ${path} does not exist`, 'Set backup-path to a file the backup command wrote.');
    }
    const sha256 = await sha256File(path);
    const expected = options.expectedSha256?.toLowerCase();
    if (expected && expected !== sha256) {
        const hint = 'The file was damaged or replaced since it was recorded: restore an intact copy.';
        throw untouched(`The backup ${path} has sha256 ${sha256}, not the expected ${expected}`, hint, 'backup-checksum');
    }
    const psql = tools.psql;
    if (!psql) {
        const hint = 'Install the whole PostgreSQL client package: it ships pg_dump, pg_restore and psql together.';
        throw untouched(`psql was not found beside ${tools.pgRestore.path}`, hint);
    }
    const toc = await readToc(path, tools, runner, 'restore-failed');
    const plan = await withClient(target, { applicationName: 'supabase-migration-guard restore' }, (client) => planRestore(client, toc, options.keepSchemas, options.alsoKeep ?? []));
    if (plan.refused.length > 0) {
        const kept = plan.kept.map((k) => k.name).join(', ') || 'none';
        throw untouched(`Restoring would drop objects in schemas this restore leaves alone (${kept}) that the backup cannot ` +
            `recreate: ${plan.refused.join('; ')}`, 'They depend on objects in the restored schemas: drop or move them first, or restore as their owner.');
    }
    for (const k of plan.kept)
        logger.warn(`Restore leaves schema ${k.name} as it is now (${k.reason})`);
    if (toc.entries.some((e) => /^(BLOB|LARGE OBJECT)/.test(e.desc))) {
        logger.warn('Large objects are not part of any schema: the restore leaves them as they are now');
    }
    const work = await (0,promises_namespaceObject.mkdtemp)((0,external_node_path_namespaceObject.join)(options.workDir ?? (0,external_node_os_namespaceObject.tmpdir)(), 'mg-restore-'));
    try {
        const [list, script, preamble] = ['entries.list', 'restore.sql', 'preamble.sql'].map((f) => (0,external_node_path_namespaceObject.join)(work, f));
        await (0,promises_namespaceObject.writeFile)(list, toc.entries.map((e) => (plan.include.has(e.id) ? e.line : `;${e.line}`)).join('\n'));
        const timeoutMs = options.timeoutMs ?? restore_DEFAULT_TIMEOUT_MS;
        const rendered = await runner.run(tools.pgRestore.path, ['-L', list, '-f', script, path], { timeoutMs });
        if (rendered.code !== 0) {
            const hint = 'The archive is damaged or incomplete: restore an intact copy or another backup.';
            throw untouched(`pg_restore cannot read ${path}: ${lastLines(rendered.stderr)}`, hint);
        }
        await (0,promises_namespaceObject.writeFile)(preamble, preambleSql(plan, options.lockTimeoutMs ?? 0));
        logger.info(`Restoring ${path} into ${target.display}: ${plan.include.size}/${toc.entries.length} entries`);
        const args = [
            '--no-psqlrc',
            '--quiet',
            '--set=ON_ERROR_STOP=1',
            '--single-transaction',
            `--output=${external_node_os_namespaceObject.devNull}`,
        ];
        const env = pgEnv(target, tools.pgRestore.major);
        const run = await runner.run(psql, [...args, '-f', preamble, '-f', script], { env, timeoutMs });
        if (run.code !== 0)
            throw psqlFailure(run, target, passwordScrubber(target));
    }
    finally {
        await (0,promises_namespaceObject.rm)(work, { recursive: true, force: true });
    }
    const result = {
        sha256,
        entries: plan.include.size,
        totalEntries: toc.entries.length,
        restoredSchemas: plan.restored,
        droppedSchemas: plan.dropped,
        keptSchemas: plan.kept,
        recreated: plan.recreated,
        durationMs: Date.now() - started,
    };
    logger.info(`Restored ${target.display} from ${path}` +
        (result.droppedSchemas.length
            ? `; dropped schemas created since the backup: ${result.droppedSchemas.join(', ')}`
            : ''));
    return result;
}
function psqlFailure(run, target, scrub) {
    const said = scrub(lastLines(run.stderr));
    const what = run.timedOut
        ? 'The restore took too long and was stopped'
        : /changed while the restore was being prepared/.test(run.stderr)
            ? 'The database changed while the restore was being prepared'
            : 'The restore failed';
    return new GuardError('restore-failed', `${what}; its transaction was rolled back, so ${target.display} is as it was before.` +
        (said ? `\npsql said:\n${said}` : ''), {
        hint: run.code === 2
            ? 'psql lost the connection: if that happened during COMMIT, check the database before retrying.'
            : 'Fix the cause named above (a missing role or privilege, for example) and run the restore again.',
    });
}
async function planRestore(client, toc, keepSchemas, alsoKeep) {
    const isSystem = (name) => /^pg_/.test(name) || name === 'information_schema';
    const schemas = (await client.query(SCHEMAS_SQL)).rows;
    const now = new Map(schemas.map((s) => [s.name, s]));
    const onSupabase = (await client.query(`SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'supabase_admin'`)).rowCount;
    const keep = new Set([...(keepSchemas ?? (onSupabase ? SUPABASE_KEEP_SCHEMAS : [])), ...alsoKeep]);
    const inDump = new Set(['public']);
    for (const e of toc.entries) {
        if (e.desc === 'SCHEMA')
            inDump.add(e.tag);
        else if (e.namespace !== '-')
            inDump.add(e.namespace);
    }
    const kept = [];
    const managed = new Set();
    for (const name of [...new Set([...inDump, ...now.keys()])].sort()) {
        const current = now.get(name);
        if (isSystem(name) || current?.extension_member)
            continue;
        if (keep.has(name))
            kept.push({ name, reason: 'kept on request' });
        else if (current && !current.droppable) {
            kept.push({ name, reason: `owned by ${current.owner}, a role the restoring user is not a member of` });
        }
        else
            managed.add(name);
    }
    const drop = [...managed].filter((s) => now.has(s));
    const outside = (await client.query(outsideSql('$1::text[]'), [drop])).rows;
    const include = new Set();
    const byOid = new Map(toc.entries.filter((e) => e.oid > 0).map((e) => [`${e.tableoid}:${e.oid}`, e]));
    const byName = new Map(toc.entries.map((e) => [`${e.desc}|${e.namespace}|${e.tag}`, e]));
    const recreated = [];
    const refused = [];
    for (const o of outside) {
        // Tables, views, sequences and columns hold data or shape it: never drop them outside the scope.
        const relation = o.catalog === 'pg_class' && (o.objsubid > 0 || !['i', 'I'].includes(o.relkind ?? ''));
        const entry = relation ? undefined : matchEntry(o, byOid, byName);
        if (entry) {
            include.add(entry.id);
            recreated.push(`${o.type} ${o.identity}`);
        }
        else if (relation || (o.schema !== '-' && !isAttachment(o))) {
            // Not in the backup as an entry of its own (a CHECK constraint or column default inside its table's
            // definition), so dropping it could not be undone.
            refused.push(`${o.type} ${o.identity}`);
        }
    }
    const existingGlobals = new Set((await client.query(GLOBALS_SQL)).rows.map((r) => r.k));
    const includedGlobals = new Set();
    for (const e of toc.entries) {
        if (e.namespace !== '-') {
            if (managed.has(e.namespace))
                include.add(e.id);
        }
        else if (e.desc === 'SCHEMA') {
            if (managed.has(e.tag))
                include.add(e.id);
        }
        else if (GLOBALS_BY_NAME.has(e.desc) && !existingGlobals.has(`${e.desc}|${e.tag}`)) {
            include.add(e.id); // dropped since the backup: bring it back
        }
        // COMMENT and ACL entries name their object the way pg_dump quotes it ("SCHEMA \"My App\"").
        if (include.has(e.id) && e.namespace === '-') {
            for (const name of [e.tag, quoteIdent(e.tag)])
                includedGlobals.add(`${e.desc} ${name}`);
        }
    }
    for (const e of toc.entries) {
        // COMMENT, ACL and SECURITY LABEL of schemas and of other objects outside schemas follow them.
        if (e.namespace === '-' &&
            ['COMMENT', 'ACL', 'SECURITY LABEL'].includes(e.desc) &&
            includedGlobals.has(e.tag))
            include.add(e.id);
    }
    const restored = [...managed].filter((s) => inDump.has(s));
    return {
        drop,
        restored,
        dropped: drop.filter((s) => !inDump.has(s)),
        kept,
        include,
        recreated,
        refused,
        outsideKeys: outside
            .map((o) => o.k)
            .sort()
            .join(','),
        recreatePublic: managed.has('public'),
    };
}
/** Objects that pg_dump always writes as entries of their own, so one missing from the backup was created since. */
function isAttachment(o) {
    if (o.catalog === 'pg_constraint')
        return ['f', 'p', 'u', 'x'].includes(o.contype ?? '');
    if (o.catalog === 'pg_class')
        return o.relkind === 'i' || o.relkind === 'I';
    return ATTACHMENTS.has(o.catalog);
}
function matchEntry(o, byOid, byName) {
    const [classid, objid] = o.k.split(':');
    const candidate = o.objsubid === 0 ? byOid.get(`${classid}:${objid}`) : undefined;
    // The oid is only trusted when the entry describes an object in the same place.
    if (candidate && candidate.namespace === o.schema)
        return candidate;
    const [first, second, third] = o.names;
    const onTable = (desc) => `${desc}|${first}|${second} ${third}`;
    const keys = {
        pg_trigger: onTable('TRIGGER'),
        pg_policy: onTable('POLICY'),
        pg_rewrite: onTable('RULE'),
        pg_attrdef: onTable('DEFAULT'),
        pg_constraint: o.type === 'table constraint' ? onTable(o.contype === 'f' ? 'FK CONSTRAINT' : 'CONSTRAINT') : undefined,
        pg_class: o.relkind === 'i' || o.relkind === 'I' ? `INDEX|${first}|${second}` : undefined,
        pg_extension: `EXTENSION|-|${first}`,
        pg_event_trigger: `EVENT TRIGGER|-|${first}`,
    };
    const key = keys[o.catalog];
    return key ? byName.get(key) : undefined;
}
function preambleSql(plan, lockTimeoutMs) {
    const schemas = `ARRAY[${plan.drop.map(quoteLiteral).join(', ')}]::text[]`;
    const lines = [
        'SET standard_conforming_strings = on;',
        'SET client_min_messages = warning;',
        'SET statement_timeout = 0;',
        `SET lock_timeout = ${Math.max(0, Math.round(lockTimeoutMs))};`,
        'SET idle_in_transaction_session_timeout = 0;',
        // The plan was made on another connection: if what the drop would take along has changed since,
        // stop before changing anything.
        'DO $mg_check$',
        'DECLARE found text;',
        'BEGIN',
        `  SELECT string_agg(q.k, ',' ORDER BY q.k COLLATE "C") INTO found FROM (${outsideSql(schemas)}) q;`,
        `  IF coalesce(found, '') <> ${quoteLiteral(plan.outsideKeys)} THEN`,
        `    RAISE EXCEPTION 'the database changed while the restore was being prepared: objects outside the restored schemas now depend on them (%)', coalesce(found, '');`,
        '  END IF;',
        'END',
        '$mg_check$;',
    ];
    if (plan.drop.length > 0)
        lines.push(`DROP SCHEMA IF EXISTS ${plan.drop.map(quoteIdent).join(', ')} CASCADE;`);
    // pg_dump never creates "public" (every new database has it), so recreate it as initdb does;
    // the archive's COMMENT, ACL and owner entries for it then apply on top.
    if (plan.recreatePublic) {
        lines.push('DO $mg_public$', 'BEGIN', "  IF pg_catalog.current_setting('server_version_num')::int >= 150000 THEN", "    EXECUTE 'CREATE SCHEMA public AUTHORIZATION pg_database_owner';", "    EXECUTE 'GRANT USAGE ON SCHEMA public TO PUBLIC';", '  ELSE', "    EXECUTE pg_catalog.format('CREATE SCHEMA public AUTHORIZATION %I', (SELECT rolname FROM pg_catalog.pg_roles WHERE oid = 10));", "    EXECUTE 'GRANT ALL ON SCHEMA public TO PUBLIC';", '  END IF;', "  EXECUTE 'COMMENT ON SCHEMA public IS ''standard public schema''';", 'END', '$mg_public$;');
    }
    return lines.join('\n') + '\n';
}
const SCHEMAS_SQL = `
SELECT n.nspname AS name,
       pg_catalog.pg_has_role(n.nspowner, 'USAGE') AS droppable,
       pg_catalog.pg_get_userbyid(n.nspowner) AS owner,
       EXISTS (SELECT 1 FROM pg_catalog.pg_depend d
                WHERE d.classid = 'pg_catalog.pg_namespace'::pg_catalog.regclass AND d.objid = n.oid AND d.deptype = 'e') AS extension_member
  FROM pg_catalog.pg_namespace n
 WHERE n.nspname !~ '^pg_' AND n.nspname <> 'information_schema'`;
const GLOBALS_SQL = `
SELECT 'EXTENSION|' || extname AS k FROM pg_catalog.pg_extension
UNION ALL SELECT 'EVENT TRIGGER|' || evtname FROM pg_catalog.pg_event_trigger
UNION ALL SELECT 'PUBLICATION|' || pubname FROM pg_catalog.pg_publication`;
/**
 * Every object outside `schemas` that DROP SCHEMA … CASCADE would take along: walk pg_depend down
 * from the schemas (and up from an object to its owner for internal dependencies, as a view's rule
 * takes the view), then keep what lives elsewhere. Internal parts, extension members and TOAST
 * go with their owner and are not listed.
 */
function outsideSql(schemas) {
    return `
WITH RECURSIVE doomed(classid, objid, objsubid) AS (
  SELECT 'pg_catalog.pg_namespace'::pg_catalog.regclass::pg_catalog.oid, n.oid, 0
    FROM pg_catalog.pg_namespace n WHERE n.nspname = ANY(${schemas})
  UNION
  SELECT CASE WHEN down THEN d.classid ELSE d.refclassid END,
         CASE WHEN down THEN d.objid ELSE d.refobjid END,
         CASE WHEN down THEN d.objsubid ELSE d.refobjsubid END
    FROM doomed x
    JOIN pg_catalog.pg_depend d
      ON (d.refclassid = x.classid AND d.refobjid = x.objid AND (x.objsubid = 0 OR d.refobjsubid = x.objsubid))
      OR (d.classid = x.classid AND d.objid = x.objid AND (x.objsubid = 0 OR d.objsubid = x.objsubid) AND d.deptype = 'i')
    CROSS JOIN LATERAL (SELECT d.refclassid = x.classid AND d.refobjid = x.objid AS down) dir
)
SELECT * FROM (
  SELECT x.classid::text || ':' || x.objid::text || ':' || x.objsubid::text AS k,
         x.classid::pg_catalog.regclass::text AS catalog, x.objsubid, i.type, i.identity, a.object_names AS names,
         coalesce(CASE WHEN i.schema LIKE '"%' THEN replace(substr(i.schema, 2, length(i.schema) - 2), '""', '"')
                       ELSE i.schema END,
                  CASE WHEN i.type IN ('trigger', 'policy', 'rule', 'default value') THEN a.object_names[1] END,
                  '-') AS schema,
         (SELECT c.relkind::text FROM pg_catalog.pg_class c
           WHERE c.oid = x.objid AND x.classid = 'pg_catalog.pg_class'::pg_catalog.regclass) AS relkind,
         (SELECT c.contype::text FROM pg_catalog.pg_constraint c
           WHERE c.oid = x.objid AND x.classid = 'pg_catalog.pg_constraint'::pg_catalog.regclass) AS contype
    FROM doomed x
   CROSS JOIN LATERAL pg_catalog.pg_identify_object(x.classid, x.objid, x.objsubid) i
   CROSS JOIN LATERAL pg_catalog.pg_identify_object_as_address(x.classid, x.objid, x.objsubid) a
   WHERE x.classid <> 'pg_catalog.pg_namespace'::pg_catalog.regclass
     AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend p
                      WHERE p.classid = x.classid AND p.objid = x.objid AND p.deptype IN ('i', 'e', 'P', 'S'))
) o WHERE o.schema <> ALL(${schemas}) AND o.schema !~ '^pg_toast'`;
}

;// CONCATENATED MODULE: ./src/commands/restore.ts









/** The tool's own run records survive a restore: they are the record of the restore itself. */
const OWN_SCHEMA = 'migration_guard';
/**
 * rollback with strategy restore: replaces the database's contents with a backup, in one
 * transaction. Every write made since the backup is discarded, so the caller must name the
 * database in confirm-restore.
 */
async function restoreCommand(ctx, result) {
    const { settings, logger } = ctx;
    const path = settings.backupPath;
    if (settings.confirmRestore !== settings.database.database) {
        throw new GuardError('confirmation-required', `Restoring ${path} discards every write made to "${settings.database.database}" since that backup was taken, so it needs confirm-restore: ${settings.database.database}` +
            (settings.confirmRestore ? ` (got "${settings.confirmRestore}")` : ''), { hint: 'Set confirm-restore to the database name to proceed. Nothing was changed.' });
    }
    return withSession(ctx, result, { lock: true, files: false }, async (session) => {
        const { client, serverMajor } = session;
        const tools = await resolvePgTools(ctx, serverMajor);
        await runBackupStage(ctx, result, session, tools); // a safety copy of what the restore will discard
        await ensureGuardSchema(client);
        const runId = await startRun(ctx, client, 'rollback');
        result.runId = runId;
        logger.warn(`Restoring ${path}: every write made since that backup is discarded`);
        const restored = await logger.group('Restore', () => restoreBackup({
            target: settings.database,
            path,
            tools,
            runner: createProcessRunner(),
            logger,
            alsoKeep: [OWN_SCHEMA],
            lockTimeoutMs: settings.lockTimeoutMs * Math.max(1, settings.lockRetries),
        }));
        // Checksums are ours (kept); the history came back from the backup: drop checksums it no longer has.
        const history = (await readHistory(client)) ?? [];
        await forgetChecksumsNotIn(client, history.map((h) => h.version));
        result.rollback = {
            kind: 'restore',
            reverted: [],
            succeeded: true,
            backupPath: path,
            nextStep: `Restored ${restored.entries} entries (sha256 ${restored.sha256}); kept as they were: ${restored.keptSchemas.map((k) => k.name).join(', ') || 'none'}.`,
        };
        result.currentVersion = history
            .map((h) => h.version)
            .filter(isNumericVersion)
            .sort(compareVersions)
            .pop();
        result.status = 'success';
        result.message = `Restored ${path}: the database now equals that backup. Writes made after the backup were discarded (confirmed by confirm-restore).`;
        await finishRunRecord(client, ctx.scrubber, runId, {
            status: 'success',
            applied: [],
            // The restore discarded writes: record what was restored, on whose confirmation, and the
            // safety backup of the state it replaced.
            details: {
                strategy: 'restore',
                restoredBackup: path,
                restoredSha256: restored.sha256,
                confirmedDatabase: settings.confirmRestore,
                safetyBackup: result.backup?.path ?? null,
                keptSchemas: restored.keptSchemas.map((k) => k.name),
            },
        });
        logger.info(result.message);
        return result;
    });
}

;// CONCATENATED MODULE: ./src/commands/rollback.ts









/**
 * rollback: revert the newest `count` applied migrations (default 1), or every one newer than
 * `target-version`, with their down migrations, newest first, in one transaction. With
 * `strategy: restore` it restores a backup instead.
 */
async function rollbackCommand(ctx, result) {
    if (ctx.settings.strategy === 'restore')
        return restoreCommand(ctx, result);
    const { settings, logger } = ctx;
    return withSession(ctx, result, { lock: true }, async (session) => {
        const { plan, set, client, runner } = session;
        const recorded = plan.rows.filter((r) => r.state !== 'pending').map((r) => r.version);
        // A history row whose version is not all digits has no place in the order and no file: it is
        // never a rollback target, and rollback (an emergency tool) is not blocked by it either.
        const unordered = recorded.filter((v) => !isNumericVersion(v));
        if (unordered.length > 0) {
            logger.warn(`Ignored ${unordered.length} history row(s) whose version is not a migration version (${unordered.map((v) => JSON.stringify(v)).join(', ')}): rollback neither counts nor removes them`);
        }
        const applied = recorded.filter(isNumericVersion).sort(compareVersions);
        let targets;
        if (settings.targetVersion) {
            if (!applied.includes(settings.targetVersion)) {
                throw new GuardError('invalid-input', `target-version ${settings.targetVersion} is not an applied migration`, {
                    hint: `Applied versions: ${applied.slice(-10).join(', ') || 'none'}. target-version is the newest migration to KEEP.`,
                });
            }
            targets = applied.filter((v) => compareVersions(v, settings.targetVersion) > 0);
        }
        else {
            const count = settings.count ?? 1;
            if (count > applied.length) {
                throw new GuardError('invalid-input', `count ${count} is more than the ${applied.length} applied migration(s)`);
            }
            targets = applied.slice(applied.length - count);
        }
        if (targets.length === 0) {
            result.status = 'nothing-to-do';
            result.message = `Nothing to roll back: ${settings.targetVersion} is already the newest applied version.`;
            return result;
        }
        const onDisk = new Map(set.migrations.map((m) => [m.version, m]));
        const missingFiles = targets.filter((v) => !onDisk.has(v));
        if (missingFiles.length > 0) {
            throw new GuardError('rollback-impossible', `No migration file (and so no down migration) for applied version(s) ${missingFiles.join(', ')}`, {
                hint: 'Restore the files, or restore a backup with strategy: restore.',
            });
        }
        const migrations = targets.map((v) => onDisk.get(v));
        const unit = await buildRevertUnit(migrations); // refuses before any change when a down is missing
        await runner.start();
        await runBackupStage(ctx, result, session);
        await ensureGuardSchema(client);
        const runId = await startRun(ctx, client, 'rollback');
        result.runId = runId;
        logger.info(`Reverting ${[...targets].reverse().join(', ')} (newest first, one transaction)`);
        const outcome = await executeUnits([unit], executionOptions(ctx, session, (items) => forgetMigrations(client, items.map((i) => i.migration.migration.version))));
        if (result.lock)
            result.lock.retries = outcome.retries;
        result.migrations = migrations.map((m) => ({
            version: m.version,
            name: m.name,
            file: m.down.path,
            status: outcome.failure
                ? outcome.failure.version === m.version
                    ? 'failed'
                    : 'not-run'
                : 'rolled-back',
            durationMs: Math.round(outcome.durations.get(m.version) ?? 0),
            statements: 0,
            atomic: true,
            nonAtomicReasons: [],
            error: outcome.failure?.version === m.version ? outcome.failure.error : undefined,
        }));
        if (outcome.failure) {
            result.status = outcome.failure.cancelled ? 'cancelled' : 'failed';
            result.cancelled = outcome.failure.cancelled || undefined;
            result.error = outcome.failure.error;
            result.rollback = {
                kind: 'command',
                reverted: [],
                succeeded: false,
                error: outcome.failure.error,
                stillApplied: targets,
            };
            result.message = `${outcome.failure.error.file}:${outcome.failure.error.line ?? ''}: ${outcome.failure.error.message}. The rollback transaction was rolled back: ${targets.join(', ')} are still applied.`;
        }
        else {
            const reverted = [...targets].reverse();
            result.status = 'success';
            result.rollback = { kind: 'command', reverted, succeeded: true };
            result.currentVersion = applied.filter((v) => !targets.includes(v)).pop();
            result.pendingCount = plan.pending.length + targets.length;
            result.message = `Rolled back ${reverted.join(', ')}; current version ${result.currentVersion ?? 'none'}.`;
        }
        ctx.events?.emit({
            type: 'rolled-back',
            versions: result.rollback?.succeeded ? result.rollback.reverted : targets,
            how: 'down-migrations',
            succeeded: result.rollback?.succeeded ?? false,
        });
        if (outcome.failure?.cancelled)
            ctx.events?.emit({ type: 'cancelled', reason: outcome.failure.error.message });
        await finishRunRecord(client, ctx.scrubber, runId, {
            status: result.status,
            applied: [],
            error: result.error?.message,
            details: {
                strategy: 'down',
                reverted: result.rollback?.reverted ?? [],
                backup: result.backup?.path ?? null,
            },
        });
        logger.info(result.message);
        return result;
    });
}

;// CONCATENATED MODULE: ./src/commands/status.ts

/** status: every migration and its state. Read-only: takes no lock and creates nothing. */
async function statusCommand(ctx, result) {
    return withSession(ctx, result, { lock: false }, async ({ plan }) => {
        result.status_rows = plan.rows;
        result.applied = [];
        result.status = 'success';
        const applied = plan.rows.filter((r) => r.state === 'applied').length;
        const problems = plan.findings.filter((f) => f.severity === 'error').length;
        result.message =
            `${applied} applied, ${plan.pending.length} pending` +
                (plan.partial.size
                    ? ` (${plan.partial.size} of them partially applied by a failed run: ${[...plan.partial.keys()].join(', ')})`
                    : '') +
                (problems ? `, ${problems} problem(s) that would stop apply` : '') +
                (plan.currentVersion ? `; current version ${plan.currentVersion}` : '; nothing applied yet') +
                (result.abandonedRuns?.length
                    ? `; ${result.abandonedRuns.length} run(s) ended without finishing and are still recorded as running: ${result.abandonedRuns.map((r) => `#${r.id}${r.applied.length ? ` (applied ${r.applied.join(', ')})` : ' (applied nothing)'}`).join(', ')}`
                    : '');
        ctx.logger.info(result.message);
        for (const row of plan.rows)
            if (row.partial)
                ctx.logger.warn(`${row.file ?? row.version}: ${row.partial.description}`);
        return result;
    });
}

;// CONCATENATED MODULE: ./src/commands/index.ts
















const HANDLERS = {
    plan: planCommand,
    apply: applyCommand,
    status: statusCommand,
    rollback: rollbackCommand,
    backup: backupCommand,
    baseline: baselineCommand,
    audit: auditCommand,
};
/** Commands whose runs are written to the audit log: the ones that can change the database. */
const AUDITED = new Set(['apply', 'rollback', 'baseline', 'backup']);
/**
 * A benchmarking aid, not an input: bench/apply-bench.mjs sets it to measure what the audit log
 * costs a run (the same build with and without it). A run that honours it says so in its log.
 */
const AUDIT_OFF_FOR_BENCHMARK = 'MIGRATION_GUARD_BENCHMARK_AUDIT_OFF';
/**
 * Runs one command and always returns a result: an error becomes a failed result carrying the
 * message, location and hint, so every run can be reported the same way. The command logs through
 * the scrubber, and the result it returns is scrubbed (then its statements cut): whatever the
 * caller writes from it (report, summary, outputs, stdout) holds no secret.
 */
async function runCommand(command) {
    const { scrubber } = command;
    const logger = scrubbingLogger(command.logger, scrubber.scrub);
    // Who started the run ends up in run records, checksum rows and application_name: scrubbed once here.
    const ctx = {
        ...command,
        logger,
        run: scrubber.scrubValue(command.run),
        events: runEvents(command, logger),
    };
    const started = new Date();
    const result = newResult(ctx, started);
    const auditOff = AUDITED.has(ctx.settings.command) && process.env[AUDIT_OFF_FOR_BENCHMARK] === '1';
    if (auditOff)
        ctx.logger.warn(`The audit log is off for this run: ${AUDIT_OFF_FOR_BENCHMARK}=1 (a benchmarking aid)`);
    const audit = AUDITED.has(ctx.settings.command) && !auditOff
        ? new AuditRecorder(ctx, { scrubValue: (value) => outbound(value, scrubber) }, started)
        : undefined;
    if (audit)
        ctx.events.on(audit.listener);
    ctx.onConnected = () => audit?.start();
    try {
        const handler = HANDLERS[ctx.settings.command];
        if (!handler) {
            throw new GuardError('not-implemented', `The "${ctx.settings.command}" command is not available in this version`, {
                hint: `Available commands: ${Object.keys(HANDLERS).join(', ')}.`,
            });
        }
        // Before any migration work: a refused manual run writes its refusal to the audit log, nothing else.
        // A manual run that passes has its "run started" row written by the guard, with the rate-limit check.
        const refusal = ctx.permissions ? await guardManualRun(ctx, ctx.permissions, audit) : undefined;
        if (refusal) {
            result.status = 'failed';
            result.refusal = refusal;
            result.message = refusal.message;
            result.error = { message: refusal.message, hint: refusal.hint };
        }
        else
            await handler(ctx, result);
    }
    catch (error) {
        // A stopped job is `cancelled` whatever stage it was stopped in (lock wait, backup, parsing).
        const cancelled = (error instanceof GuardError && error.code === 'cancelled') || ctx.signal?.aborted;
        result.status = cancelled ? 'cancelled' : 'failed';
        result.cancelled = cancelled || undefined;
        result.error = toErrorDetail(error);
        result.message = errorMessage(error);
    }
    // Decided once, from the result as it ends: what stayed committed, whatever path the run took.
    result.changed = databaseChanged(result);
    const finished = new Date();
    result.finishedAt = finished.toISOString();
    result.durationMs = finished.getTime() - started.getTime();
    const scrubbed = outbound(result, scrubber);
    // The last stage event carries the final, scrubbed result (the engine emits the others).
    ctx.events.emit({ type: 'run-finished', result: scrubbed });
    await audit?.finish(scrubbed);
    return scrubbed;
}
/**
 * The run's stage events as every listener gets them: scrubbed once (an error message can quote
 * a connection string), shown in the console log, then handed to the entry point's listeners
 * (the pull request comment) in the same order.
 */
function runEvents(command, logger) {
    const { scrubber } = command;
    const events = new StageEvents((error) => logger.warn(`A run listener failed: ${errorMessage(error)}`), 
    // run-finished carries the result, scrubbed already (and cut): not searched twice.
    (event) => (event.type === 'run-finished' ? event : scrubber.scrubValue(event)));
    events.on(consoleLogListener(logger));
    const outer = command.events;
    if (outer)
        events.on((event) => outer.emit(event));
    return events;
}
function toErrorDetail(error) {
    if (error instanceof GuardError) {
        return {
            message: error.message,
            file: error.location?.file,
            line: error.location?.line,
            column: error.location?.column,
            hint: error.hint,
            sqlstate: error.options.sqlstate,
        };
    }
    const err = error;
    return {
        message: err?.message ?? String(error),
        sqlstate: typeof err?.code === 'string' ? err.code : undefined,
    };
}

;// CONCATENATED MODULE: ./src/report/summary.ts

/** GitHub refuses a step summary larger than this. */
const SUMMARY_LIMIT_BYTES = 1024 * 1024;
/**
 * What the summary allows itself: a tenth of the limit stays free, so a byte count that differs
 * from GitHub's (line endings, a wrapper it adds) never tips a run's summary over.
 */
const SUMMARY_BUDGET_BYTES = SUMMARY_LIMIT_BYTES - 100 * 1024;
/** The audit command's compliance report may take at most this much of the budget. */
const AUDIT_BUDGET_BYTES = (/* unused pure expression or super */ null && (512 * 1024));
/** Tables longer than this fold into `<details>`; longer than the maximum, they are cut. */
const FOLD_ROWS_ABOVE = 30;
const MAX_ROWS = 250;
/** Lists (findings, lock waits, statements outside a transaction) fold and cut sooner. */
const FOLD_ITEMS_ABOVE = 10;
const MAX_ITEMS = 100;
/** Longest text of one cell or list line: a huge error message cannot crowd out the rest. */
const MAX_CELL = 600;
const MAX_MESSAGE = 3000;
/** Where the whole data is when the summary leaves some out. */
const JSON_REPORT = 'the JSON report of the run (the `report-path` output)';
const FULL_DATA = (/* unused pure expression or super */ null && (`${JSON_REPORT} holds every one`));
const STATUS_LABEL = {
    success: '✅ success',
    'nothing-to-do': '✅ nothing to do',
    failed: '❌ failed',
    'rolled-back': '↩️ failed and rolled back',
    cancelled: '⏹️ cancelled',
};
/** Findings that mean the history and the files disagree: shown as their own section. */
const DRIFT_CODES = new Set(['drift', 'missing-locally', 'out-of-order']);
/** Commands whose runs have pending, applied, failed and rolled-back migrations to count. */
const COUNTED_COMMANDS = new Set([
    'plan',
    'apply',
    'rollback',
    'baseline',
]);
/**
 * The job summary, a status board of the run: outcome, counts, facts (backup, lock, run link),
 * error, one row per migration, what stayed applied, rollback, drift and findings. Pure Markdown
 * from a run result (golden-tested); long lists fold into `<details>` and are cut with a note, and
 * the whole stays under GitHub's size limit.
 */
function renderSummary(result) {
    const sections = [
        [
            `## Migration guard: \`${result.command}\` on \`${result.environment}\` — ${STATUS_LABEL[result.status]}`,
        ],
        [escapeMd(clip(result.message, MAX_MESSAGE))],
        result.refusal ? refusalSection(result.refusal) : [],
        countsTable(result),
        factsTable(result),
        errorSection(result),
        migrationSection(result.migrations),
        committedSection(result.committedBeforeFailure),
        result.rollback ? rollbackSection(result.rollback) : [],
        nonTransactionalSection(result.nonTransactional),
        partialSection(result.partiallyApplied),
        rehearsalSection(result),
        lockSection(result.lock),
        sessionEffectsSection(result.sessionEffects),
        abandonedSection(result.abandonedRuns),
        result.status_rows ? statusSection(result.status_rows) : [],
        findingsSection('### Drift: the history and the files disagree', result.findings.filter((f) => DRIFT_CODES.has(f.code))),
        findingsSection('### Findings', result.findings.filter((f) => !DRIFT_CODES.has(f.code))),
        result.audit
            ? [
                fitToSize(result.audit.markdown.trimEnd(), AUDIT_BUDGET_BYTES, () => `_The compliance report is cut here to fit the job summary: the whole report is in ${escapeMd(result.audit.files.markdown)}._`).trimEnd(),
            ]
            : [],
    ];
    const markdown = `${sections
        .filter((s) => s.length > 0)
        .map((s) => s.join('\n'))
        .join('\n\n')}\n`;
    return fitToSize(markdown, SUMMARY_BUDGET_BYTES, (kept) => `_The summary is cut here (${kept} bytes kept) to stay under GitHub's 1 MiB limit: ${JSON_REPORT} holds the whole run._`);
}
/** A refused manual run: who, the role they have, the roles allowed, or when the next run is allowed. */
function refusalSection(refusal) {
    const rows = [
        ['Who', `${refusal.actor} (${refusal.event})`],
        ['Their role', refusal.role ?? 'could not be read'],
        ['Allowed roles', refusal.allowedRoles.join(', ')],
        ['Reason given', refusal.reason ?? 'none'],
        ['Rate limit', refusal.rateLimit],
        ['Next run allowed from', refusal.nextAllowedAt],
        [
            'Audit log',
            refusal.recorded
                ? 'refusal recorded'
                : 'the refusal could NOT be recorded (the warning in the log says why): it stands all the same',
        ],
    ];
    return [
        '### ⛔ Manual run refused: nothing was run',
        '',
        '| | |',
        '|---|---|',
        ...rows
            .filter(([, v]) => v !== undefined)
            .map(([k, v]) => `| ${k} | ${escapeCell(clip(v, MAX_CELL))} |`),
    ];
}
function countsTable(result) {
    if (!COUNTED_COMMANDS.has(result.command))
        return [];
    const count = (...statuses) => result.migrations.filter((m) => statuses.includes(m.status)).length;
    return [
        '| Pending | Applied | Failed | Rolled back |',
        '|---|---|---|---|',
        `| ${result.pendingCount} | ${result.applied.length} | ${count('failed', 'partially-applied')} | ${count('rolled-back')} |`,
    ];
}
function factsTable(result) {
    const facts = [
        ['Database changed', result.changed ? 'yes' : 'no'],
        [
            'Database',
            result.database
                ? `${result.database.display}${result.database.serverVersion ? ` (PostgreSQL ${result.database.serverVersion})` : ''}`
                : undefined,
        ],
        ['Transaction mode', result.transactionMode],
        [
            'Backup',
            result.backup
                ? `${result.backup.path} (${summary_formatBytes(result.backup.sizeBytes)}, sha256 \`${result.backup.sha256}\`, ${result.backup.pgDumpVersion}, ${(result.backup.durationMs / 1000).toFixed(2)} s)`
                : undefined,
        ],
        ['Current version', result.currentVersion],
        ['Duration', `${(result.durationMs / 1000).toFixed(2)} s`],
        ['Lock', result.lock ? describeLock(result.lock) : undefined],
        [
            'Schema fingerprint',
            result.schemaFingerprint
                ? `before \`${result.schemaFingerprint.before}\`, after \`${result.schemaFingerprint.after}\``
                : undefined,
        ],
        ['Run id', result.runId !== undefined ? String(result.runId) : undefined],
    ];
    const rows = facts.flatMap(([k, v]) => (v === undefined ? [] : [`| ${k} | ${escapeCell(v)} |`]));
    // A link, not text: built from GitHub's own variables, and only an http(s) address is linked.
    if (result.runUrl && /^https?:\/\/[^\s()<>]+$/.test(result.runUrl))
        rows.push(`| Workflow run | [${escapeCell(result.runUrl)}](${result.runUrl}) |`);
    return ['| | |', '|---|---|', ...rows];
}
function errorSection(result) {
    const error = result.error;
    if (!error)
        return [];
    const where = error.file
        ? `${error.file}${error.line ? `:${error.line}` : ''}${error.column ? `:${error.column}` : ''}`
        : '';
    const text = [
        `${where ? `${where}: ` : ''}${clip(error.message, MAX_MESSAGE)}${error.sqlstate ? ` (SQLSTATE ${error.sqlstate})` : ''}`,
    ];
    if (error.detail)
        text.push(`DETAIL: ${clip(error.detail, MAX_MESSAGE)}`);
    if (error.hint)
        text.push(`HINT: ${clip(error.hint, MAX_MESSAGE)}`);
    // A line of the error that starts a fence would close the block early and let the rest render.
    return ['### Error', '', '```', ...text.map((l) => l.replace(/^```/gm, '` ``')), '```'];
}
function migrationSection(migrations) {
    if (migrations.length === 0)
        return [];
    return [
        '### Migrations',
        '',
        ...foldList(migrations, migrationRow, ['| Version | Name | Status | Duration | Statements | Notes |', '|---|---|---|---|---|---|'], {
            foldAbove: FOLD_ROWS_ABOVE,
            maxItems: MAX_ROWS,
            keep: (m) => m.error !== undefined || m.status === 'failed' || m.status === 'partially-applied',
            summary: `${migrations.length} migrations: ${countsBy(migrations, (m) => m.status)}`,
            gap: (_n, left) => `| … | ${countsBy(left, (m) => m.status)} |  |  |  |  |`,
            cutNote: (shown, total) => `Showing ${shown} of ${total} migrations: ${FULL_DATA}.`,
        }),
    ];
}
function migrationRow(m) {
    const notes = [
        m.error ? `${summary_errorPlace(m.error)}${m.error.message}` : '',
        m.atomic ? '' : `not atomic: ${m.nonAtomicReasons.join('; ')}`,
        ...(m.notes ?? []),
    ]
        .filter(Boolean)
        .join(' — ');
    return `| ${m.version} | ${escapeCell(m.name)} | ${m.status} | ${m.durationMs} ms | ${m.statements} | ${escapeCell(clip(notes, MAX_CELL))} |`;
}
function committedSection(versions) {
    if (!versions?.length)
        return [];
    return [
        '### Left applied by this run (not undone)',
        '',
        ...foldList(versions, (v) => `- ${v}`, [], listOptions(versions.length, 'versions')),
    ];
}
function rollbackSection(rollback) {
    const title = rollback.kind === 'automatic'
        ? 'Automatic rollback'
        : rollback.kind === 'restore'
            ? 'Restore'
            : 'Rollback';
    const lines = [`### ${title}: ${rollback.succeeded ? 'succeeded' : 'NOT completed'}`];
    if (rollback.reverted.length)
        lines.push('', `Reverted (newest first): ${versionList(rollback.reverted)}`);
    if (rollback.backupPath)
        lines.push('', `Backup restored: ${escapeMd(rollback.backupPath)}`);
    if (rollback.error) {
        const where = summary_errorPlace(rollback.error);
        lines.push('', `Error: ${escapeMd(`${where}${clip(rollback.error.message, MAX_MESSAGE)}`)}`);
    }
    if (rollback.stillApplied?.length)
        lines.push('', `Still applied: ${versionList(rollback.stillApplied)}`);
    if (rollback.nextStep)
        lines.push('', `**Next step:** ${escapeMd(clip(rollback.nextStep, MAX_MESSAGE))}`);
    return lines;
}
function nonTransactionalSection(items) {
    if (!items?.length)
        return [];
    return [
        '### Ran outside a transaction (not undone by a rollback)',
        '',
        ...foldList(items, (n) => `- ${escapeMd(n.file)}:${n.line}: \`${escapeCell(clip(n.statement.split('\n')[0], 200))}\`${n.failed ? ` — FAILED${n.leftBehind ? `: ${escapeCell(n.leftBehind)}` : ''}` : ''}${n.down ? ` — down: ${escapeMd(n.down)}` : ' — no down migration'}`, [], { ...listOptions(items.length, 'statements'), keep: (n) => n.failed === true }),
    ];
}
function partialSection(items) {
    if (!items?.length)
        return [];
    return [
        '### Partly applied (no history row)',
        '',
        ...foldList(items, (p) => `- ${escapeMd(p.file)}: ${escapeMd(clip(p.nextStep, MAX_CELL))}`, [], listOptions(items.length, 'files')),
    ];
}
function rehearsalSection(result) {
    const lines = [];
    if (result.rehearsal?.reason && result.command === 'apply')
        lines.push(`Rehearsal: ${result.rehearsal.ran ? 'yes' : 'no'}: ${escapeMd(result.rehearsal.reason)}`);
    const notRehearsed = result.rehearsal?.notRehearsed ?? [];
    if (notRehearsed.length) {
        if (lines.length)
            lines.push('');
        lines.push('### Not rehearsed', '', ...foldList(notRehearsed, (n) => `- ${escapeMd(clip(n, MAX_CELL))}`, [], listOptions(notRehearsed.length, 'statements')));
    }
    return lines;
}
function lockSection(lock) {
    if (!lock?.retries.length)
        return [];
    return [
        '### Lock waits',
        '',
        ...foldList(lock.retries, (r) => `- retry ${r.attempt} after ${r.delayMs} ms: ${escapeMd(clip(r.message, MAX_CELL))}${r.blocker ? ` — blocked by ${escapeMd(clip(r.blocker, MAX_CELL))}` : ''}`, [], listOptions(lock.retries.length, 'retries')),
    ];
}
function sessionEffectsSection(effects) {
    if (!effects?.length)
        return [];
    return [
        '### What the migrations did to this run',
        '',
        ...foldList(effects, (e) => `- ⚠️ ${escapeMd(clip(e.message, MAX_CELL))}`, [], listOptions(effects.length, 'effects')),
    ];
}
function abandonedSection(runs) {
    if (!runs?.length)
        return [];
    return [
        '### Runs that ended without finishing',
        '',
        ...foldList(runs, (r) => `- run #${r.id} (${escapeMd(r.command)}, started ${r.startedAt}${r.actor ? ` by ${escapeMd(r.actor)}` : ''}): ${r.applied.length ? `the history shows it applied ${versionList(r.applied)}` : 'it applied nothing'}; ${r.closed ? 'closed as abandoned by this run' : 'still recorded as running (the next apply closes it)'}`, [], listOptions(runs.length, 'runs')),
    ];
}
function statusSection(statusRows) {
    if (statusRows.length === 0)
        return [];
    return [
        '### Migrations',
        '',
        ...foldList(statusRows, (r) => `| ${r.version} | ${escapeCell(r.name)} | ${r.partial ? escapeCell(clip(`${r.state}: ${r.partial.description}`, MAX_CELL)) : r.state} | ${r.appliedAt ?? ''} | ${escapeCell(r.appliedBy ?? '')} | ${r.checksum ?? ''} |`, ['| Version | Name | State | Applied at | Applied by | Checksum |', '|---|---|---|---|---|---|'], {
            foldAbove: FOLD_ROWS_ABOVE,
            maxItems: MAX_ROWS,
            keep: (r) => r.state !== 'applied' || (r.checksum !== undefined && r.checksum !== 'ok'),
            summary: `${statusRows.length} migrations: ${countsBy(statusRows, (r) => r.state)}`,
            gap: (_n, left) => `| … | ${countsBy(left, (r) => r.state)} |  |  |  |  |`,
            cutNote: (shown, total) => `Showing ${shown} of ${total} migrations: ${FULL_DATA}.`,
        }),
    ];
}
function findingsSection(title, findings) {
    if (findings.length === 0)
        return [];
    return [
        title,
        '',
        ...foldList(findings, (f) => `- ${f.severity === 'error' ? '❌' : '⚠️'} ${escapeMd(clip(f.message, MAX_CELL))}`, [], {
            ...listOptions(findings.length, 'findings'),
            summary: `${findings.length} findings: ${countsBy(findings, (f) => (f.severity === 'error' ? 'errors' : 'warnings'))}`,
            keep: (f) => f.severity === 'error',
        }),
    ];
}
/** Fold and cut options for a plain list of `total` things called `what`. */
function listOptions(total, what) {
    return {
        foldAbove: FOLD_ITEMS_ABOVE,
        maxItems: MAX_ITEMS,
        summary: `${total} ${what}`,
        gap: (n) => `- … ${n} more`,
        cutNote: (shown, all) => `Showing ${shown} of ${all} ${what}: ${FULL_DATA}.`,
    };
}
/** A list of versions on one line, cut after the first 50 with how many more there are. */
function versionList(versions) {
    const max = 50;
    return versions.length <= max
        ? versions.join(', ')
        : `${versions.slice(0, max).join(', ')} and ${versions.length - max} more`;
}
function summary_errorPlace(error) {
    if (error.file)
        return `${error.file}${error.line ? `:${error.line}` : ''}: `;
    return error.line ? `line ${error.line}: ` : '';
}
function summary_formatBytes(size) {
    if (size < 1024)
        return `${size} B`;
    if (size < 1024 ** 2)
        return `${(size / 1024).toFixed(1)} KiB`;
    if (size < 1024 ** 3)
        return `${(size / 1024 ** 2).toFixed(1)} MiB`;
    return `${(size / 1024 ** 3).toFixed(2)} GiB`;
}
function describeLock(lock) {
    const parts = [
        lock.waitedMs > 0
            ? `waited ${(lock.waitedMs / 1000).toFixed(1)} s for ${lock.waitedFor ?? 'another run'}`
            : 'acquired at once',
    ];
    if (lock.retries.length > 0)
        parts.push(`${lock.retries.length} lock-timeout retr${lock.retries.length === 1 ? 'y' : 'ies'}`);
    return parts.join('; ');
}

;// CONCATENATED MODULE: ./src/report/aggregate.ts
/**
 * The status board of a fan-out over many databases: one row per target, built from each target's
 * JSON report (the action's `report-path`), failures first. Pure: reports in, Markdown out; the
 * command (commands/aggregate.ts) reads the files and writes the job summary.
 */



/** States the run is fine with; every other state fails the aggregation job. */
const GOOD = new Set(['success', 'nothing-to-do']);
const STATE_LABEL = {
    failed: '❌ failed',
    'rolled-back': '↩️ rolled back',
    cancelled: '⏹️ cancelled',
    missing: '💀 no report (job died or never ran)',
    unreadable: '⚠️ unreadable report',
    success: '✅ success',
    'nothing-to-do': '✅ nothing to do',
};
/** Failures first, then the rest, in this order; within a state, the target list's order. */
const STATE_ORDER = Object.keys(STATE_LABEL);
/** The board stays one open table up to this many rows; beyond, the good rows fold. */
const aggregate_FOLD_ROWS_ABOVE = 30;
/** Rows listed per table at most (the JSON reports, uploaded as artifacts, hold every one). */
const aggregate_MAX_ROWS = 1000;
/** A failure message in a cell: enough to tell what went wrong, never a wall of text. */
const MAX_NOTE = 300;
/**
 * The board's rows: one per target of the list (a target without a report is `missing`), plus one
 * per report of a target not in the list; failures first.
 */
function boardRows(targets, reports) {
    const byTarget = new Map();
    for (const report of reports)
        if (!byTarget.has(report.target))
            byTarget.set(report.target, report);
    const rows = [];
    const listed = new Set();
    for (const target of targets ?? []) {
        listed.add(target.name);
        const report = byTarget.get(target.name);
        rows.push(report
            ? rowFor(report, target.environment)
            : {
                target: target.name,
                environment: target.environment,
                state: 'missing',
                note: `The job wrote no report: open the workflow run to see where it stopped.${seeTroubleshooting('a-fan-out-target-shows-no-report')}`,
            });
    }
    for (const report of byTarget.values()) {
        if (listed.has(report.target))
            continue;
        rows.push({ ...rowFor(report, undefined), unexpected: targets !== undefined });
    }
    const rank = (row) => STATE_ORDER.indexOf(row.state);
    // Array.prototype.sort is stable: the list's order holds within a state.
    return rows.sort((a, b) => rank(a) - rank(b));
}
function rowFor(report, environment) {
    const { result } = report;
    if (!result)
        return { target: report.target, environment, state: 'unreadable', note: report.problem };
    return {
        target: report.target,
        environment: environment ?? result.environment,
        state: result.status,
        applied: result.applied.length,
        pending: result.pendingCount,
        currentVersion: result.currentVersion,
        durationMs: result.durationMs,
        backup: result.backup ? { sizeBytes: result.backup.sizeBytes, sha256: result.backup.sha256 } : undefined,
        link: result.runUrl,
        note: GOOD.has(result.status) ? undefined : result.message,
    };
}
/** Whether every target ended well (the aggregation job's exit status follows this). */
function boardSucceeded(rows) {
    return rows.length > 0 && rows.every((row) => GOOD.has(row.state) && !row.unexpected);
}
const HEADER = [
    '| target | environment | status | applied | pending | current version | duration | backup | job | note |',
    '|---|---|---|---:|---:|---|---:|---|---|---|',
];
/**
 * The status board in Markdown: a headline with the counts, then the rows, failures first. Up to
 * 30 rows it is one table; beyond, the failures stay open and the good rows fold into
 * `<details>`. Each table is cut at 1,000 rows with a note, and the whole stays under GitHub's
 * job summary limit.
 */
function renderBoard(rows, options = {}) {
    const bad = rows.filter((row) => !GOOD.has(row.state) || row.unexpected);
    const good = rows.filter((row) => GOOD.has(row.state) && !row.unexpected);
    const outcome = rows.length === 0
        ? '⚠️ no targets and no reports'
        : bad.length === 0
            ? `✅ all ${rows.length} targets succeeded`
            : `❌ ${bad.length} of ${rows.length} targets need attention`;
    const render = (row) => renderRow(row, options);
    const lines = [
        `## Migration guard: ${rows.length} targets — ${outcome}`,
        '',
        rows.length ? `${markdown_countsBy(rows, (row) => STATE_LABEL[row.state].replace(/^\S+ /, ''))}.` : '',
        '',
    ];
    if (rows.length <= aggregate_FOLD_ROWS_ABOVE) {
        lines.push(...HEADER, ...rows.map(render));
    }
    else {
        if (bad.length)
            lines.push('### Needs attention', '', ...table(bad, render, `${bad.length} targets`, true));
        if (good.length) {
            if (bad.length)
                lines.push('', '### Succeeded', '');
            lines.push(...table(good, render, `${good.length} targets succeeded`, false));
        }
    }
    if (rows.some((row) => row.unexpected))
        lines.push('', 'Rows marked *not in the target list* come from a report no listed target claims.');
    const markdown = `${lines.join('\n')}\n`;
    return markdown_fitToSize(markdown, SUMMARY_BUDGET_BYTES, () => '> The board was cut to fit GitHub’s job summary limit; every target’s JSON report is in the run’s artifacts.');
}
function table(rows, render, title, open) {
    return markdown_foldList(rows, render, HEADER, {
        // The failures are what the reader came for: never folded away.
        foldAbove: open ? Number.POSITIVE_INFINITY : 0,
        maxItems: aggregate_MAX_ROWS,
        summary: title,
        gap: (count, left) => `| … ${count} more (${markdown_countsBy(left, (row) => row.state)}) | | | | | | | | | |`,
        cutNote: (shown, total) => `${shown} of ${total} rows shown; every target’s JSON report is in the run’s artifacts.`,
    });
}
function renderRow(row, options) {
    const dash = '—';
    const link = row.link ?? options.runUrl;
    const safeLink = link && /^https?:\/\/[^\s()<>]+$/.test(link) ? `[run](${link})` : dash;
    const note = [row.unexpected ? '*not in the target list*' : '', row.note ? markdown_clip(row.note, MAX_NOTE) : '']
        .filter(Boolean)
        .join(' ');
    const cells = [
        `\`${markdown_escapeCell(row.target.replace(/`/g, "'"))}\``,
        row.environment ?? dash,
        STATE_LABEL[row.state],
        row.applied ?? dash,
        row.pending ?? dash,
        row.currentVersion ?? dash,
        row.durationMs === undefined ? dash : formatSeconds(row.durationMs),
        row.backup ? `${formatBytes(row.backup.sizeBytes)} · \`${row.backup.sha256.slice(0, 12)}\`` : dash,
        safeLink,
        note || dash,
    ];
    return `| ${cells.map((cell, i) => (i === 0 || i === 7 || i === 8 ? String(cell) : markdown_escapeCell(String(cell)))).join(' | ')} |`;
}

;// CONCATENATED MODULE: ./src/commands/aggregate.ts
/**
 * `migration-guard aggregate`: the last job of a fan-out over many databases. Reads every target's
 * JSON report, writes one status board to the job summary (and stdout) and exits 1 when a target
 * failed or left no report. Needs no database.
 */




const AGGREGATE_USAGE = `Usage: migration-guard aggregate [--targets JSON] [--summary-path FILE] [--json] REPORT|DIR ...

Reads the JSON reports of a fan-out (one per target, named <target>.json; a folder stands for the
.json files in it) and writes one status board: a row per target, failures first.

  --targets JSON        the fan-out's target list ([{"name": "eu", "environment": "prod-eu",
                        "secret": "EU_DATABASE_URL"}, ...]); a listed target without a report is
                        shown as a job that died. Without it, one row per report.
  --summary-path FILE   append the board here (default: $GITHUB_STEP_SUMMARY when set)
  --json                print the rows as JSON instead of the Markdown board

Exit codes: 0 every target succeeded, 1 a target failed or has no report, 2 bad usage.`;
/** Target names become artifact names, concurrency groups and file names: keep them plain. */
const TARGET_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;
class AggregateUsageError extends Error {
}
function parseAggregateArgs(argv, env) {
    const args = { json: false, paths: [], summaryPath: env.GITHUB_STEP_SUMMARY || undefined };
    for (let i = 0; i < argv.length; i++) {
        const [flag, inline] = argv[i].split(/=(.*)/s, 2);
        const value = () => {
            const v = inline ?? argv[++i];
            if (v === undefined || v.trim() === '')
                throw new AggregateUsageError(`${flag} needs a value`);
            return v;
        };
        if (flag === '--targets')
            args.targets = parseTargets(value());
        else if (flag === '--summary-path')
            args.summaryPath = value();
        else if (flag === '--json')
            args.json = true;
        else if (flag.startsWith('--'))
            throw new AggregateUsageError(`Unknown flag ${flag}`);
        else
            args.paths.push(argv[i]);
    }
    if (args.paths.length === 0 && !args.targets)
        throw new AggregateUsageError('Give the report files (or their folder), or --targets, or both');
    return args;
}
/** The target list, as the reusable workflow's `targets` input holds it. */
function parseTargets(json) {
    let value;
    try {
        value = JSON.parse(json);
    }
    catch (error) {
        throw new AggregateUsageError(`--targets is not valid JSON: ${error.message}`);
    }
    if (!Array.isArray(value))
        throw new AggregateUsageError('--targets must be a JSON array of targets');
    const seen = new Set();
    return value.map((item, i) => {
        const where = `--targets[${i}]`;
        if (typeof item !== 'object' || item === null || Array.isArray(item))
            throw new AggregateUsageError(`${where} must be an object with a "name"`);
        const { name, environment, secret } = item;
        if (typeof name !== 'string' || !TARGET_NAME.test(name))
            throw new AggregateUsageError(`${where}.name must be 1–63 letters, digits, ".", "_" or "-" (it names artifacts and files); got ${JSON.stringify(name)}`);
        if (seen.has(name))
            throw new AggregateUsageError(`${where}.name "${name}" is listed twice`);
        seen.add(name);
        for (const [key, v] of Object.entries({ environment, secret }))
            if (v !== undefined && typeof v !== 'string')
                throw new AggregateUsageError(`${where}.${key} must be a string`);
        return { name, environment: environment, secret: secret };
    });
}
/** The report files: each path as given, a folder as the `.json` files in it (sorted). */
async function reportFiles(paths) {
    const files = [];
    for (const path of paths) {
        const info = await (0,promises_namespaceObject.stat)(path).catch(() => undefined);
        if (info?.isDirectory()) {
            const names = (await (0,promises_namespaceObject.readdir)(path)).filter((n) => n.endsWith('.json')).sort();
            files.push(...names.map((n) => (0,external_node_path_namespaceObject.join)(path, n)));
        }
        else
            files.push(path);
    }
    return files;
}
async function readReport(file) {
    const target = (0,external_node_path_namespaceObject.basename)(file).replace(/\.json$/, '');
    let text;
    try {
        text = await (0,promises_namespaceObject.readFile)(file, 'utf8');
    }
    catch (error) {
        return {
            file,
            target,
            problem: `Could not read ${file}: ${error.code ?? error}`,
        };
    }
    try {
        const result = JSON.parse(text);
        if (result?.tool?.name !== 'supabase-migration-guard' || typeof result.status !== 'string')
            return { file, target, problem: `${file} is not a supabase-migration-guard report` };
        return { file, target, result };
    }
    catch (error) {
        return { file, target, problem: `${file} is not valid JSON: ${error.message}` };
    }
}
/** Runs the command; returns the exit code. */
async function aggregateMain(argv, env = process.env) {
    if (argv.includes('--help') || argv.includes('-h')) {
        process.stdout.write(`${AGGREGATE_USAGE}\n`);
        return 0;
    }
    let args;
    try {
        args = parseAggregateArgs(argv, env);
    }
    catch (error) {
        if (!(error instanceof AggregateUsageError))
            throw error;
        process.stderr.write(`${error.message}\n\n${AGGREGATE_USAGE}\n`);
        return 2;
    }
    const reports = await Promise.all((await reportFiles(args.paths)).map(readReport));
    const rows = boardRows(args.targets, reports);
    const board = renderBoard(rows, { runUrl: runContextFromEnv(env).runUrl });
    if (args.summaryPath) {
        try {
            await (0,promises_namespaceObject.appendFile)(args.summaryPath, board);
        }
        catch (error) {
            // The board is on stdout too: a summary that cannot be written must not hide the outcome.
            process.stderr.write(`warning: could not write the job summary: ${error.message}\n`);
        }
    }
    process.stdout.write(args.json ? `${JSON.stringify(rows, null, 2)}\n` : board);
    return boardSucceeded(rows) ? 0 : 1;
}

;// CONCATENATED MODULE: ./src/cancel.ts
/**
 * A cancelled GitHub job sends SIGINT, then SIGTERM, then kills the process: turn the first signal
 * into an abort so the running statement is cancelled and the run rolls back and is recorded.
 */
function cancelOnSignals(logger) {
    const controller = new AbortController();
    const onSignal = (name) => {
        if (controller.signal.aborted)
            return;
        logger.warn(`Received ${name}: cancelling the running statement and rolling back`);
        controller.abort(name);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    return {
        signal: controller.signal,
        dispose: () => {
            process.off('SIGINT', onSignal);
            process.off('SIGTERM', onSignal);
        },
    };
}

;// CONCATENATED MODULE: ./src/config/secrets-of-url.ts
/**
 * The secret parts of a database URL as the user wrote it: the whole URL and its password, so they
 * can be masked before anything (even a validation error) is printed. Works on malformed URLs too.
 */
function secretsOfDatabaseUrl(raw) {
    if (!raw)
        return [];
    const secrets = [raw, raw.trim()];
    // A password may itself hold "@" (unencoded): everything up to the LAST "@" is user info.
    // Both that reading and the URL parser's are registered, so either spelling is masked.
    const userinfo = /^[a-z][a-z0-9+.-]*:\/\/(.*)@[^@]*$/is.exec(raw.trim());
    if (userinfo) {
        const colon = userinfo[1].indexOf(':');
        if (colon >= 0)
            secrets.push(userinfo[1].slice(colon + 1));
    }
    try {
        const parsed = new URL(raw.trim());
        if (parsed.password)
            secrets.push(parsed.password);
    }
    catch {
        // malformed: the pattern above is all we have
    }
    const query = /[?&]password=([^&]*)/.exec(raw);
    if (query)
        secrets.push(query[1]);
    return [...new Set(secrets.filter((s) => s.length > 0))];
}

;// CONCATENATED MODULE: ./src/config/run-scrubber.ts


/**
 * The run's one scrubber, built from the raw inputs before they are validated (so even an error
 * about them is scrubbed). The entry points mask the same forms in the runner's log and hand it to
 * every command on its context; a new secret input (a token, a webhook URL) is registered here.
 */
function scrubberForInputs(raw) {
    const scrubber = new SecretScrubber();
    for (const secret of secretsOfDatabaseUrl(raw['database-url']))
        scrubber.add(secret);
    scrubber.add(raw['github-token']?.trim());
    // The whole webhook URL is the credential (Slack's and Teams' carry their token in the path).
    scrubber.add(raw['notify-webhook-url']?.trim());
    return scrubber;
}

;// CONCATENATED MODULE: ./node_modules/zod/v4/core/util.js

// functions
function assertEqual(val) {
    return val;
}
function assertNotEqual(val) {
    return val;
}
function toZod() {
    return (schema) => schema;
}
function assertIs(_arg) { }
function assertNever(_x) {
    throw new Error("Unexpected value in exhaustive check");
}
function assert(_) { }
function getEnumValues(entries) {
    const numericValues = Object.values(entries).filter((v) => typeof v === "number");
    const values = Object.entries(entries)
        .filter(([k, _]) => numericValues.indexOf(+k) === -1)
        .map(([_, v]) => v);
    return values;
}
function joinValues(array, separator = "|") {
    return array.map((val) => stringifyPrimitive(val)).join(separator);
}
function jsonStringifyReplacer(_, value) {
    if (typeof value === "bigint")
        return value.toString();
    return value;
}
// the accessor lives on a shared prototype: an own accessor makes every box a dictionary-mode object (~360 B and a slow load per read against ~100 B and an inlined getter here)
class Cached {
    constructor(getter) {
        this._getter = getter;
        this._value = undefined;
    }
    get value() {
        const getter = this._getter;
        if (getter !== undefined) {
            this._value = getter();
            this._getter = undefined;
        }
        return this._value;
    }
}
function cached(getter) {
    return new Cached(getter);
}
function nullish(input) {
    return input === null || input === undefined;
}
function cleanRegex(source) {
    const start = source.startsWith("^") ? 1 : 0;
    const end = source.endsWith("$") ? source.length - 1 : source.length;
    return source.slice(start, end);
}
function floatSafeRemainder(val, step) {
    const ratio = val / step;
    const roundedRatio = Math.round(ratio);
    // `val` and `step` each round to a double before the division rounds again, so a true decimal multiple's quotient can sit up to 1.5 of these scaled epsilons from the integer. A 1x tolerance therefore rejected 2.03 as a multiple of 0.07; 4x covers the worst case with margin.
    const tolerance = 4 * Number.EPSILON * Math.max(Math.abs(ratio), 1);
    if (Math.abs(ratio - roundedRatio) < tolerance)
        return 0;
    return ratio - roundedRatio;
}
const EVALUATING = /* @__PURE__*/ (/* unused pure expression or super */ null && (Symbol("evaluating")));
function defineLazy(object, key, getter) {
    let value = undefined;
    Object.defineProperty(object, key, {
        get() {
            if (value === EVALUATING) {
                // Circular reference detected, return undefined to break the cycle
                return undefined;
            }
            if (value === undefined) {
                value = EVALUATING;
                value = getter();
            }
            return value;
        },
        set(v) {
            Object.defineProperty(object, key, {
                value: v,
                // configurable: true,
            });
            // object[key] = v;
        },
        configurable: true,
    });
}
function objectClone(obj) {
    return Object.create(Object.getPrototypeOf(obj), Object.getOwnPropertyDescriptors(obj));
}
function assignProp(target, prop, value) {
    Object.defineProperty(target, prop, {
        value,
        writable: true,
        enumerable: true,
        configurable: true,
    });
}
/**
 * Whichever object a def's `shape` currently answers from: the one the caller passed until the first read, the frozen copy after it.
 *
 * Its keys and descriptors read without invoking anything, which is what lets a discriminated union check its discriminator, and the cycle walk read a shape, without resolving a getter that references the schema being constructed. A def that answers `shape` from an accessor of its own has none.
 */
function rawShape(def) {
    const desc = Object.getOwnPropertyDescriptor(def, "shape");
    return desc?.get ? desc.get.raw : desc?.value;
}
// where a builder reads its source's keys and descriptors, resolving only a shape a def answers for itself. A shape resolves by object spread, so only its enumerable keys are ever part of it.
function sourceShape(schema) {
    return rawShape(schema._zod.def) ?? schema._zod.def.shape;
}
// a key whose value is not settled yet, self-caching so every read after the first gets the same one
function deferProp(target, key, getter) {
    Object.defineProperty(target, key, {
        get() {
            const value = getter();
            assignProp(this, key, value);
            return value;
        },
        enumerable: true,
        configurable: true,
    });
}
// Writes a settled key. A plain assignment is much cheaper than `defineProperty` and produces the same descriptor, but it runs whatever setter already answers to the key — an accessor this shape deferred, or an inherited one, which `__proto__` has on every object and prototype pollution can add for any name.
function putProp(target, key, value) {
    if (key in target)
        assignProp(target, key, value);
    else
        target[key] = value;
}
/**
 * Copies `keys` of `source`'s shape onto `target`, each value passed through `wrap`.
 *
 * A key the source has resolved is copied through now, so the derived shape states it outright and nothing has to resolve it to learn what it holds. A key the source still defers stays deferred, and reads back through the source's own `shape`, so it resolves once and both shapes get that one schema.
 */
function mirrorShape(target, source, keys, wrap) {
    const raw = sourceShape(source);
    for (const key of keys) {
        const desc = Object.getOwnPropertyDescriptor(raw, key);
        if (!desc.enumerable)
            continue;
        if (desc.get) {
            deferProp(target, key, () => {
                const value = source._zod.def.shape[key];
                return wrap ? wrap(value, key) : value;
            });
        }
        else
            putProp(target, key, wrap ? wrap(desc.value, key) : desc.value);
    }
}
// same, for a plain shape a caller passed rather than a schema's
function mirrorProps(target, source) {
    for (const key of Reflect.ownKeys(source)) {
        const desc = Object.getOwnPropertyDescriptor(source, key);
        if (!desc.enumerable)
            continue;
        if (desc.get)
            deferProp(target, key, () => source[key]);
        else
            putProp(target, key, desc.value);
    }
}
function mergeDefs(...defs) {
    const mergedDescriptors = {};
    for (const def of defs) {
        const descriptors = Object.getOwnPropertyDescriptors(def);
        Object.assign(mergedDescriptors, descriptors);
    }
    return Object.defineProperties({}, mergedDescriptors);
}
function cloneDef(schema) {
    return mergeDefs(schema._zod.def);
}
function getElementAtPath(obj, path) {
    if (!path)
        return obj;
    return path.reduce((acc, key) => acc?.[key], obj);
}
function promiseAllObject(promisesObj) {
    const keys = Object.keys(promisesObj);
    const promises = keys.map((key) => promisesObj[key]);
    return Promise.all(promises).then((results) => {
        const resolvedObj = {};
        for (let i = 0; i < keys.length; i++) {
            resolvedObj[keys[i]] = results[i];
        }
        return resolvedObj;
    });
}
function randomString(length = 10) {
    const chars = "abcdefghijklmnopqrstuvwxyz";
    let str = "";
    for (let i = 0; i < length; i++) {
        str += chars[Math.floor(Math.random() * chars.length)];
    }
    return str;
}
function esc(str) {
    return JSON.stringify(str);
}
function slugify(input) {
    return input
        .toLowerCase()
        .trim()
        .replace(/[^\w\s-]/g, "")
        .replace(/[\s_-]+/g, "-")
        .replace(/^-+|-+$/g, "");
}
const captureStackTrace = ("captureStackTrace" in Error ? Error.captureStackTrace : (..._args) => { });
function util_isObject(data) {
    return typeof data === "object" && data !== null && !Array.isArray(data);
}
const allowsEval = /* @__PURE__*/ (/* unused pure expression or super */ null && (cached(() => {
    // Skip the probe under `jitless`: strict CSPs report the caught `new Function` as a `securitypolicyviolation` even though the throw is swallowed.
    if (globalConfig.jitless) {
        return false;
    }
    // @ts-ignore
    if (typeof navigator !== "undefined" && navigator?.userAgent?.includes("Cloudflare")) {
        return false;
    }
    try {
        const F = Function;
        new F("");
        return true;
    }
    catch (_) {
        return false;
    }
})));
function isPlainObject(o) {
    if (util_isObject(o) === false)
        return false;
    // modified constructor
    const ctor = o.constructor;
    if (ctor === undefined)
        return true;
    if (typeof ctor !== "function")
        return true;
    // modified prototype
    const prot = ctor.prototype;
    if (util_isObject(prot) === false)
        return false;
    // ctor doesn't have static `isPrototypeOf`
    if (Object.prototype.hasOwnProperty.call(prot, "isPrototypeOf") === false) {
        return false;
    }
    return true;
}
function shallowClone(o) {
    if (isPlainObject(o))
        return { ...o };
    if (Array.isArray(o))
        return [...o];
    if (o instanceof Map)
        return new Map(o);
    if (o instanceof Set)
        return new Set(o);
    return o;
}
function numKeys(data) {
    let keyCount = 0;
    for (const key in data) {
        if (Object.prototype.hasOwnProperty.call(data, key)) {
            keyCount++;
        }
    }
    return keyCount;
}
const getParsedType = (data) => {
    const t = typeof data;
    switch (t) {
        case "undefined":
            return "undefined";
        case "string":
            return "string";
        case "number":
            return Number.isNaN(data) ? "nan" : "number";
        case "boolean":
            return "boolean";
        case "function":
            return "function";
        case "bigint":
            return "bigint";
        case "symbol":
            return "symbol";
        case "object":
            if (Array.isArray(data)) {
                return "array";
            }
            if (data === null) {
                return "null";
            }
            if (data.then && typeof data.then === "function" && data.catch && typeof data.catch === "function") {
                return "promise";
            }
            if (typeof Map !== "undefined" && data instanceof Map) {
                return "map";
            }
            if (typeof Set !== "undefined" && data instanceof Set) {
                return "set";
            }
            if (typeof Date !== "undefined" && data instanceof Date) {
                return "date";
            }
            // @ts-ignore
            if (typeof File !== "undefined" && data instanceof File) {
                return "file";
            }
            return "object";
        default:
            throw new Error(`Unknown data type: ${t}`);
    }
};
const propertyKeyTypes = /* @__PURE__*/ new Set(["string", "number", "symbol"]);
const primitiveTypes = /* @__PURE__*/ new Set([
    "string",
    "number",
    "bigint",
    "boolean",
    "symbol",
    "undefined",
]);
function escapeRegex(str) {
    return str.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
// zod-specific utils
function clone(inst, def, params) {
    const cl = new inst._zod.constr(def ?? inst._zod.def);
    if (!def || params?.parent)
        cl._zod.parent = inst;
    return cl;
}
function normalizeParams(_params) {
    const params = _params;
    if (!params)
        return {};
    if (typeof params === "string")
        return { error: () => params };
    if (params?.message !== undefined) {
        if (params?.error !== undefined)
            throw new Error("Cannot specify both `message` and `error` params");
        params.error = params.message;
    }
    delete params.message;
    if (typeof params.error === "string")
        return { ...params, error: () => params.error };
    return params;
}
function createTransparentProxy(getter) {
    let target;
    return new Proxy({}, {
        get(_, prop, receiver) {
            target ?? (target = getter());
            return Reflect.get(target, prop, receiver);
        },
        set(_, prop, value, receiver) {
            target ?? (target = getter());
            return Reflect.set(target, prop, value, receiver);
        },
        has(_, prop) {
            target ?? (target = getter());
            return Reflect.has(target, prop);
        },
        deleteProperty(_, prop) {
            target ?? (target = getter());
            return Reflect.deleteProperty(target, prop);
        },
        ownKeys(_) {
            target ?? (target = getter());
            return Reflect.ownKeys(target);
        },
        getOwnPropertyDescriptor(_, prop) {
            target ?? (target = getter());
            return Reflect.getOwnPropertyDescriptor(target, prop);
        },
        defineProperty(_, prop, descriptor) {
            target ?? (target = getter());
            return Reflect.defineProperty(target, prop, descriptor);
        },
    });
}
function stringifyPrimitive(value) {
    if (typeof value === "bigint")
        return value.toString() + "n";
    if (typeof value === "string")
        return `"${value}"`;
    return `${value}`;
}
function optionalKeys(shape) {
    return Object.keys(shape).filter((k) => {
        return shape[k]._zod.optin !== undefined && shape[k]._zod.optout === "optional";
    });
}
// Wrapped in a `@__PURE__` IIFE: esbuild never tree-shakes a top-level initializer that contains a member access on `Number`, so the bare object literal survived into every bundle.
const NUMBER_FORMAT_RANGES = /*@__PURE__*/ (() => ({
    safeint: [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
    int32: [-2147483648, 2147483647],
    uint32: [0, 4294967295],
    float32: [-3.4028234663852886e38, 3.4028234663852886e38],
    float64: [-Number.MAX_VALUE, Number.MAX_VALUE],
}))();
const BIGINT_FORMAT_RANGES = {
    int64: [/* @__PURE__*/ BigInt("-9223372036854775808"), /* @__PURE__*/ BigInt("9223372036854775807")],
    uint64: [/* @__PURE__*/ BigInt(0), /* @__PURE__*/ BigInt("18446744073709551615")],
};
function pick(schema, mask) {
    const currDef = schema._zod.def;
    const checks = currDef.checks;
    const hasChecks = checks && checks.length > 0;
    if (hasChecks) {
        throw new Error(".pick() cannot be used on object schemas containing refinements");
    }
    const newShape = {};
    mirrorShape(newShape, schema, maskedKeys(schema, mask));
    return clone(schema, mergeDefs(currDef, { shape: newShape, checks: [] }));
}
// the mask keys that select something, checked against the source's shape without resolving it
function maskedKeys(schema, mask) {
    const raw = sourceShape(schema);
    const keys = [];
    // `for...in` skips symbols, so a symbol in the mask would select nothing
    for (const key of Reflect.ownKeys(mask)) {
        if (!Object.getOwnPropertyDescriptor(raw, key)?.enumerable) {
            throw new Error(`Unrecognized key: "${String(key)}"`);
        }
        if (mask[key])
            keys.push(key);
    }
    return keys;
}
function omit(schema, mask) {
    const currDef = schema._zod.def;
    const checks = currDef.checks;
    const hasChecks = checks && checks.length > 0;
    if (hasChecks) {
        throw new Error(".omit() cannot be used on object schemas containing refinements");
    }
    const omitted = new Set(maskedKeys(schema, mask));
    const newShape = {};
    mirrorShape(newShape, schema, Reflect.ownKeys(sourceShape(schema)).filter((key) => !omitted.has(key)));
    return clone(schema, mergeDefs(currDef, { shape: newShape, checks: [] }));
}
function extend(schema, shape) {
    if (!isPlainObject(shape)) {
        throw new Error("Invalid input to extend: expected a plain object");
    }
    const checks = schema._zod.def.checks;
    const hasChecks = checks && checks.length > 0;
    if (hasChecks) {
        // Only throw if new shape overlaps with existing shape. Use getOwnPropertyDescriptor to check key existence without accessing values
        const existingShape = sourceShape(schema);
        for (const key of Reflect.ownKeys(shape)) {
            if (Object.getOwnPropertyDescriptor(existingShape, key) !== undefined) {
                throw new Error("Cannot overwrite keys on object schemas containing refinements. Use `.safeExtend()` instead.");
            }
        }
    }
    return clone(schema, mergeDefs(schema._zod.def, { shape: extended(schema, shape) }));
}
// the source's keys, then the caller's overlaid on top
function extended(schema, shape) {
    const newShape = {};
    mirrorShape(newShape, schema, Reflect.ownKeys(sourceShape(schema)));
    mirrorProps(newShape, shape);
    return newShape;
}
function safeExtend(schema, shape) {
    if (!isPlainObject(shape)) {
        throw new Error("Invalid input to safeExtend: expected a plain object");
    }
    return clone(schema, mergeDefs(schema._zod.def, { shape: extended(schema, shape) }));
}
function merge(a, b) {
    if (!b?._zod?.def) {
        throw new Error("Invalid input to merge: expected an object schema. To merge a plain shape, use `.extend()`.");
    }
    if (a._zod.def.checks?.length) {
        throw new Error(".merge() cannot be used on object schemas containing refinements. Use .safeExtend() instead.");
    }
    const newShape = {};
    mirrorShape(newShape, a, Reflect.ownKeys(sourceShape(a)));
    mirrorShape(newShape, b, Reflect.ownKeys(sourceShape(b)));
    const def = mergeDefs(a._zod.def, {
        shape: newShape,
        get catchall() {
            return b._zod.def.catchall;
        },
        checks: b._zod.def.checks ?? [],
    });
    return clone(a, def);
}
function partial(Class, schema, mask, name = "partial") {
    const currDef = schema._zod.def;
    const checks = currDef.checks;
    const hasChecks = checks && checks.length > 0;
    if (hasChecks) {
        throw new Error(`.${name}() cannot be used on object schemas containing refinements`);
    }
    const selected = mask ? new Set(maskedKeys(schema, mask)) : undefined;
    const newShape = {};
    mirrorShape(newShape, schema, Reflect.ownKeys(sourceShape(schema)), Class &&
        ((value, key) => (selected && !selected.has(key) ? value : new Class({ type: "optional", innerType: value }))));
    return clone(schema, mergeDefs(schema._zod.def, { shape: newShape, checks: [] }));
}
function required(Class, schema, mask) {
    const selected = mask ? new Set(maskedKeys(schema, mask)) : undefined;
    const newShape = {};
    mirrorShape(newShape, schema, Reflect.ownKeys(sourceShape(schema)), (value, key) => 
    // overwrite with non-optional
    selected && !selected.has(key) ? value : new Class({ type: "nonoptional", innerType: value }));
    return clone(schema, mergeDefs(schema._zod.def, { shape: newShape }));
}
// invalid_type | too_big | too_small | invalid_format | not_multiple_of | unrecognized_keys | invalid_union | invalid_key | invalid_element | invalid_value | custom
function aborted(x, startIndex = 0) {
    if (x.aborted === true)
        return true;
    for (let i = startIndex; i < x.issues.length; i++) {
        if (x.issues[i]?.continue !== true) {
            return true;
        }
    }
    return false;
}
// Checks for explicit abort (continue === false), as opposed to implicit abort (continue === undefined). Used to respect `abort: true` in .refine() even for checks that have a `when` function.
function explicitlyAborted(x, startIndex = 0) {
    if (x.aborted === true)
        return true;
    for (let i = startIndex; i < x.issues.length; i++) {
        if (x.issues[i]?.continue === false) {
            return true;
        }
    }
    return false;
}
function prefixIssues(path, issues) {
    return issues.map((iss) => {
        var _a;
        (_a = iss).path ?? (_a.path = []);
        iss.path.unshift(path);
        return iss;
    });
}
function unwrapMessage(message) {
    return typeof message === "string" ? message : message?.message;
}
/* A check holds no link back to the schema it is attached to — the same check instance is shared by every clone of that schema — so the owner is stamped onto the issues a check just raised, at the only point where both are in scope. Runs on the failure path only; `start` is the issue count from before the check ran. */
/** The leading size checks of `defChecks` that set an upper bound, each paired with it. */
function sizeCaps(defChecks) {
    const caps = [];
    for (const ch of defChecks ?? []) {
        const d = ch._zod.def;
        // a later check may rewrite the value
        if (!/_(length|size)$|_equals$/.test(d.check))
            break;
        const max = d.maximum ?? d.length ?? d.size;
        if (max >= 0)
            caps.push([max, ch]);
    }
    return caps;
}
function attachSchema(issues, start, inst) {
    var _a;
    for (let i = start; i < issues.length; i++) {
        (_a = issues[i]).schema ?? (_a.schema = inst);
    }
}
function finalizeIssue(iss, ctx, config) {
    var _a;
    // A schema that raised an issue itself owns it outright, and outranks any stamp an enclosing check left in `attachSchema`. String formats and z.custom() are schema and check at once, so when they act as a check they defer to that stamp instead.
    const traits = iss.inst?._zod?.traits;
    if (traits?.has("$ZodType")) {
        if (traits.has("$ZodCheck"))
            (_a = iss).schema ?? (_a.schema = iss.inst);
        else
            iss.schema = iss.inst;
    }
    // Decreasing specificity, first map to return a message wins. `inst` is whatever raised the issue, so a check's own map outranks the owning schema's.
    const schemaError = iss.schema !== iss.inst ? iss.schema?._zod.def?.error : undefined;
    const message = iss.message
        ? iss.message
        : (unwrapMessage(iss.inst?._zod.def?.error?.(iss)) ??
            unwrapMessage(schemaError?.(iss)) ??
            unwrapMessage(ctx?.error?.(iss)) ??
            unwrapMessage(config.customError?.(iss)) ??
            unwrapMessage(config.localeError?.(iss)) ??
            "Invalid input");
    // an explicit own-key copy beats object rest with excluded keys, which v8 routes through a generic runtime call; Object.keys rather than for-in so an issue pushed with a prototype does not leak inherited keys, and an own __proto__ key is dropped rather than assigned through the setter
    const full = {};
    for (const k of Object.keys(iss)) {
        if (k === "inst" || k === "schema" || k === "continue" || k === "input" || k === "__proto__")
            continue;
        full[k] = iss[k];
    }
    full.path ?? (full.path = []);
    full.message = message;
    if (ctx?.reportInput) {
        full.input = iss.input;
    }
    return full;
}
function getSizableOrigin(input) {
    if (input instanceof Set)
        return "set";
    if (input instanceof Map)
        return "map";
    // @ts-ignore
    if (input instanceof File)
        return "file";
    return "unknown";
}
const highSurrogate = /[\uD800-\uDBFF]/;
// Code points in `str`: a surrogate pair counts once, a lone surrogate as itself. Hand-rolled because the string iterator allocates and runs ~250x slower on this path; the regex probe exits ~50x quicker for a string with no astral characters.
function util_codePointLength(str) {
    const units = str.length;
    if (!highSurrogate.test(str))
        return units;
    let count = units;
    for (let i = 0; i < units - 1; i++) {
        if ((str.charCodeAt(i) & 0xfc00) === 0xd800 && (str.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
            count--;
            i++;
        }
    }
    return count;
}
function getLengthableOrigin(input) {
    if (Array.isArray(input))
        return "array";
    if (typeof input === "string")
        return "string";
    return "unknown";
}
function parsedType(data) {
    const t = typeof data;
    switch (t) {
        case "number": {
            return Number.isNaN(data) ? "nan" : "number";
        }
        case "object": {
            if (data === null) {
                return "null";
            }
            if (Array.isArray(data)) {
                return "array";
            }
            const obj = data;
            if (obj && Object.getPrototypeOf(obj) !== Object.prototype && "constructor" in obj && obj.constructor) {
                return obj.constructor.name;
            }
        }
    }
    return t;
}
function util_issue(...args) {
    const [iss, input, inst] = args;
    if (typeof iss === "string") {
        return {
            message: iss,
            code: "custom",
            input,
            inst,
        };
    }
    return { ...iss };
}
function cleanEnum(obj) {
    return Object.entries(obj)
        .filter(([k, _]) => {
        // return true if NaN, meaning it's not a number, thus a string key
        return Number.isNaN(Number.parseInt(k, 10));
    })
        .map((el) => el[1]);
}
// Codec utility functions
function base64ToUint8Array(base64) {
    const binaryString = atob(base64);
    const bytes = new Uint8Array(binaryString.length);
    for (let i = 0; i < binaryString.length; i++) {
        bytes[i] = binaryString.charCodeAt(i);
    }
    return bytes;
}
function uint8ArrayToBase64(bytes) {
    let binaryString = "";
    for (let i = 0; i < bytes.length; i++) {
        binaryString += String.fromCharCode(bytes[i]);
    }
    return btoa(binaryString);
}
function base64urlToUint8Array(base64url) {
    const base64 = base64url.replace(/-/g, "+").replace(/_/g, "/");
    const padding = "=".repeat((4 - (base64.length % 4)) % 4);
    return base64ToUint8Array(base64 + padding);
}
function uint8ArrayToBase64url(bytes) {
    return uint8ArrayToBase64(bytes).replace(/\+/g, "-").replace(/\//g, "_").replace(/=/g, "");
}
function hexToUint8Array(hex) {
    const cleanHex = hex.replace(/^0x/, "");
    if (cleanHex.length % 2 !== 0) {
        throw new Error("Invalid hex string length");
    }
    const bytes = new Uint8Array(cleanHex.length / 2);
    for (let i = 0; i < cleanHex.length; i += 2) {
        bytes[i / 2] = Number.parseInt(cleanHex.slice(i, i + 2), 16);
    }
    return bytes;
}
function uint8ArrayToHex(bytes) {
    return Array.from(bytes)
        .map((b) => b.toString(16).padStart(2, "0"))
        .join("");
}
// instanceof
class Class {
    constructor(..._args) { }
}
//////////    PROTOTYPE INSTALLERS     //////////
//
// Members live on the prototype and materialize per instance on first read, which keeps own-property count under the step where V8 stops using inline slots. Changing anything here means re-measuring runtime, memory and bundle size together — see "The three axes" in AGENTS.md.
/**
 * Installs a trait's members on its prototype. Each value builds that member for the instance on first read; the built value shadows the accessor as an own property, so a detached `const { parse } = schema` keeps working.
 *
 * Call this from a `proto` initializer, which runs once per prototype — never per instance.
 */
function members(proto, table) {
    for (const key in table) {
        const desc = Object.getOwnPropertyDescriptor(table, key);
        // a getter installs as written, so it stays live: `description` reads through to the registry on every access. not enumerable: an object literal's is, and a prototype member never was
        if (desc.get)
            Object.defineProperty(proto, key, { ...desc, enumerable: false });
        // a method materializes bound on first read, which is what keeps a detached member working: `const opt = schema.optional; opt()`
        else
            defineBound(proto, key, desc.value);
    }
}
/** Shadows a prototype member with an own value, so a getter that builds from the instance runs once. */
function own(inst, key, value, enumerable = true) {
    Object.defineProperty(inst, key, { configurable: true, writable: true, enumerable, value });
    return value;
}
/** Like {@link own}, for a member that was never an own data property and has to stay out of `Object.keys`. */
function hide(inst, key, value) {
    return own(inst, key, value, false);
}
/** Adds members a table derives from the instance: each builds on first read and shadows as own data, and assignment shadows the same way, as when these were own properties. */
function derived(computes, table) {
    for (const key in computes) {
        const compute = computes[key];
        // an object literal's accessor is configurable and enumerable, and `members` copies the descriptor as written
        Object.defineProperty(table, key, {
            configurable: true,
            enumerable: true,
            get() {
                return own(this, key, compute(this));
            },
            set(value) {
                own(this, key, value);
            },
        });
    }
    return table;
}
function defineBound(proto, key, fn) {
    Object.defineProperty(proto, key, {
        configurable: true,
        get() {
            // vitest's spyOn calls a prototype getter bare to find the function it wraps, so a nullish receiver answers the raw method
            return this == null ? fn : own(this, key, fn.bind(this));
        },
        set(value) {
            own(this, key, value);
        },
    });
}
/** Returns the prototype to install on, or `undefined` if this group is already installed on it. */
function claim(inst, sentinel) {
    const proto = Object.getPrototypeOf(inst);
    // Runs on every construction, so `in` rather than the costlier `hasOwnProperty.call`. Sentinels are keys the group itself defines.
    return sentinel in proto ? undefined : proto;
}
// The internals whose init chain is installing. A second call for the same one is a derived constructor overriding its base, so it must not construct another schema in between or the override is dropped.
let installing;
// Set while a getter is running, so a value that resolved through a recursion break is not memoized. One shared descriptor shadows the key for the duration, which costs no per-key allocation.
let broke = false;
const breaker = {
    configurable: true,
    get() {
        broke = true;
        return undefined;
    },
};
/**
 * Installs a lazily-derived internal on the `_zod` prototype of `inst`'s
 * constructor, computed from the internals object itself and cached there on
 * first read. One accessor per constructor rather than one per instance.
 */
function defineLazyInternal(inst, key, compute) {
    const proto = Object.getPrototypeOf(inst._zod);
    if (key in proto && installing !== inst._zod) {
        // A repeat construction: everything is installed already. Cleared here so the reference is not held past the first construction of every type.
        installing = undefined;
        return;
    }
    installing = inst._zod;
    Object.defineProperty(proto, key, {
        configurable: true,
        get() {
            // Shadowed before computing so a re-entrant read from a recursive schema resolves to undefined instead of running the getter again.
            Object.defineProperty(this, key, breaker);
            const outer = broke;
            broke = false;
            try {
                const value = compute(this);
                // A result that resolved through a recursion break is recomputed once the graph is complete; everything else memoizes, undefined included.
                if (broke)
                    delete this[key];
                else
                    Object.defineProperty(this, key, { configurable: true, writable: true, value });
                broke = broke || outer;
                return value;
            }
            catch (err) {
                // A compute that threw memoizes nothing, so a later read runs it again and fails the same way. The shadow goes with it, since leaving it installed would answer undefined for every later read.
                delete this[key];
                broke = broke || outer;
                throw err;
            }
        },
        set(value) {
            Object.defineProperty(this, key, { configurable: true, writable: true, value });
        },
    });
}
/**
 * Installs `key` on `inst`'s prototype, computed by `make` on first read and cached there as an own
 * data property. One accessor per constructor rather than one per instance, because an own accessor
 * puts every instance after the first into v8 dictionary mode. The key doubles as the sentinel.
 */
function installLazyProp(inst, key, make, enumerable) {
    const proto = claim(inst, key);
    if (!proto)
        return;
    Object.defineProperty(proto, key, {
        configurable: true,
        get() {
            // Shadowed before computing, so a re-entrant read from a self-referential shape resolves to undefined instead of running the getter again. A data property rather than an accessor: an own accessor is the dictionary-mode transition this exists to avoid.
            const desc = { configurable: true, writable: true, enumerable, value: undefined };
            Object.defineProperty(this, key, desc);
            // a compute that throws leaves the shadow behind, so later reads answer undefined instead of re-throwing; `defineLazy` did the same, and `defineLazyInternal`'s delete-on-catch would cost bytes in every bundle for a case only a throwing user getter reaches
            desc.value = make(this);
            Object.defineProperty(this, key, desc);
            return desc.value;
        },
        set(value) {
            Object.defineProperty(this, key, { configurable: true, writable: true, enumerable, value });
        },
    });
}
/** Marks the thunk `_catch` synthesises for a constant catch value. `Function.length` cannot tell that thunk from a user callback — rest and defaulted parameters both report arity 0 — and a user callback reads `ctx.error`, whose issues only finalize correctly against the caller's per-parse error map. Provenance can say what arity cannot. A plain string key rather than `Symbol.for`, whose call at module scope no bundler can prove pure — the same shape that anchored `urlCanParse` into every build. */
const CONSTANT_CATCH = "~constantCatch";
/** Wraps a constant catch value in a thunk tagged with {@link CONSTANT_CATCH}. */
function constantCatch(value) {
    const fn = () => value;
    fn[CONSTANT_CATCH] = true;
    return fn;
}

;// CONCATENATED MODULE: ./node_modules/zod/v4/core/core.js
var _a;

/** A special constant with type `never` */
const NEVER = /*@__PURE__*/ Object.freeze({
    status: "aborted",
});
/* Shared descriptor for installing `_zod`; defineProperty reads it
 * synchronously, so reusing one object avoids a per-instance allocation. */
const _zodDesc = { value: undefined, enumerable: false };
// null where suppressing the capture would be unrecoverable: `parse()` puts the frames back with `captureStackTrace`, so without it the throw would lose its stack. also latched to null once `stackTraceLimit` proves unassignable, which a realm can do at any point by hardening Error
let _E = "captureStackTrace" in Error ? Error : null;
// v8 captures a stack trace inside the Error constructor, which dominates a failed parse; costs only the frames, and parse() restores those. the constructor must RUN: Object.create is cheaper and passes instanceof, but Error.isError and util.types.isNativeError check an internal slot
function newError(Definition) {
    const E = _E;
    if (E) {
        const saved = E.stackTraceLimit;
        if (typeof saved === "number") {
            try {
                E.stackTraceLimit = 0;
            }
            catch {
                _E = null;
                return new Definition();
            }
            try {
                return new Definition();
            }
            finally {
                E.stackTraceLimit = saved;
            }
        }
    }
    return new Definition();
}
function $constructor(name, initializer, 
/** This trait's members, installed once on every prototype that composes it. They cannot be declared in the initializer above: that runs per instance, and the prototype is shared. */
proto, params) {
    // Prototype for this constructor's `_zod` internals. Lazily-derived fields (`values`, `pattern`, `optin`, …) install here once rather than as an accessor on every instance.
    const zodProto = {};
    // Assigning the fields in the constructor body is what gives instances in-object slots; building the object literally and reparenting it costs a second allocation and a generic property copy.
    function Internals(def) {
        this.def = def;
        this.constr = _;
        this.traits = new Set();
    }
    Internals.prototype = zodProto;
    const protoMembers = proto;
    // One trait's members land on every prototype whose chain composes it, so the answer is per prototype rather than per trait.
    const initialized = protoMembers && new WeakSet();
    function init(inst, def) {
        if (!inst._zod) {
            _zodDesc.value = new Internals(def);
            try {
                Object.defineProperty(inst, "_zod", _zodDesc);
            }
            finally {
                // Cleared even on throw, so the shared descriptor never leaks one instance's internals into the next.
                _zodDesc.value = undefined;
            }
        }
        else if (inst._zod.traits.has(name)) {
            return;
        }
        inst._zod.traits.add(name);
        initializer(inst, def);
        if (initialized) {
            // `super(def)` from a user subclass gives `this` a prototype the subclass owns, and installing there would overwrite whatever the subclass declared. `constr` built the instance, so its prototype is the one below the subclass's that should carry the members. A receiver whose chain never reaches that prototype installs on its own, which for a plain object handed straight to `init` means `Object.prototype` — unchanged from before.
            const own = Object.getPrototypeOf(inst);
            const ctorProto = inst._zod.constr.prototype;
            let up = own;
            while (up && up !== ctorProto)
                up = Object.getPrototypeOf(up);
            const target = up ?? own;
            if (!initialized.has(target)) {
                initialized.add(target);
                members(target, protoMembers);
            }
        }
        // support prototype modifications; for-in avoids the array allocation of Object.keys on the (usually empty) prototype
        const proto = _.prototype;
        for (const k in proto) {
            if (!Object.prototype.hasOwnProperty.call(proto, k))
                continue;
            if (!(k in inst)) {
                inst[k] = proto[k].bind(inst);
            }
        }
    }
    // doesn't work if Parent has a constructor with arguments
    const Parent = params?.Parent ?? Object;
    class Definition extends Parent {
    }
    Object.defineProperty(Definition, "name", { value: name });
    function _(def) {
        const inst = params?.Parent ? newError(Definition) : this;
        init(inst, def);
        const deferred = inst._zod.deferred;
        if (deferred) {
            for (const fn of deferred) {
                fn();
            }
            // Released: initializers run once, and the list would otherwise be retained for the schema's lifetime.
            inst._zod.deferred = undefined;
        }
        // Global post-processor hook. Internal: installed by `import "zod/compile"` to enable AOT compilation for every constructed schema. Runs last, once the instance is fully built, because it hands the instance to compile(). The post-processor is expected to be reentrancy-guarded by its own implementation.
        const pp = globalThis.__zod_globalConfig?.postProcessor;
        if (pp)
            pp(inst);
        return inst;
    }
    Object.defineProperty(_, "init", { value: init });
    Object.defineProperty(_, Symbol.hasInstance, {
        value: (inst) => {
            if (params?.Parent && inst instanceof params.Parent)
                return true;
            return inst?._zod?.traits?.has(name);
        },
    });
    Object.defineProperty(_, "name", { value: name });
    return _;
}
//////////////////////////////   UTILITIES   ///////////////////////////////////////
const $brand = /*@__PURE__*/ (/* unused pure expression or super */ null && (Symbol("zod_brand")));
class $ZodAsyncError extends Error {
    constructor() {
        super(`Encountered Promise during synchronous parse. Use .parseAsync() instead.`);
    }
}
class $ZodEncodeError extends Error {
    constructor(name) {
        super(`Encountered unidirectional transform during encode: ${name}`);
        this.name = "ZodEncodeError";
    }
}
(_a = globalThis).__zod_globalConfig ?? (_a.__zod_globalConfig = {});
const core_globalConfig = globalThis.__zod_globalConfig;
function config(newConfig) {
    if (newConfig)
        Object.assign(core_globalConfig, newConfig);
    return core_globalConfig;
}

;// CONCATENATED MODULE: ./node_modules/zod/v4/core/checks.js
// import { $ZodType } from "./schemas.js";



const $ZodCheck = /*@__PURE__*/ $constructor("$ZodCheck", (inst, def) => {
    var _a;
    inst._zod ?? (inst._zod = {});
    inst._zod.def = def;
    (_a = inst._zod).onattach ?? (_a.onattach = []);
});
/** Default `when` for size-based checks: run only on non-nullish values with a `size`. */
const _whenHasSize = (payload) => {
    const val = payload.value;
    return !util.nullish(val) && val.size !== undefined;
};
/** Default `when` for length-based checks: run only on non-nullish values with a `length`. */
const _whenHasLength = (payload) => {
    const val = payload.value;
    return !nullish(val) && val.length !== undefined;
};
const numericOriginMap = {
    number: "number",
    bigint: "bigint",
    object: "date",
};
const $ZodCheckLessThan = /*@__PURE__*/ $constructor("$ZodCheckLessThan", (inst, def) => {
    $ZodCheck.init(inst, def);
    const origin = numericOriginMap[typeof def.value];
    inst._zod.check = (payload) => {
        if (def.inclusive ? payload.value <= def.value : payload.value < def.value) {
            return;
        }
        payload.issues.push({
            origin: numericOriginMap[typeof payload.value] ?? origin,
            code: "too_big",
            maximum: typeof def.value === "object" ? def.value.getTime() : def.value,
            input: payload.value,
            inclusive: def.inclusive,
            inst,
            continue: !def.abort,
        });
    };
});
const $ZodCheckGreaterThan = /*@__PURE__*/ $constructor("$ZodCheckGreaterThan", (inst, def) => {
    $ZodCheck.init(inst, def);
    const origin = numericOriginMap[typeof def.value];
    inst._zod.check = (payload) => {
        if (def.inclusive ? payload.value >= def.value : payload.value > def.value) {
            return;
        }
        payload.issues.push({
            origin: numericOriginMap[typeof payload.value] ?? origin,
            code: "too_small",
            minimum: typeof def.value === "object" ? def.value.getTime() : def.value,
            input: payload.value,
            inclusive: def.inclusive,
            inst,
            continue: !def.abort,
        });
    };
});
const $ZodCheckMultipleOf = 
/*@__PURE__*/ (/* unused pure expression or super */ null && (core.$constructor("$ZodCheckMultipleOf", (inst, def) => {
    $ZodCheck.init(inst, def);
    inst._zod.check = (payload) => {
        if (typeof payload.value !== typeof def.value)
            throw new Error("Cannot mix number and bigint in multiple_of check.");
        const isMultiple = typeof payload.value === "bigint"
            ? // `value % 0n` throws, and nothing is a multiple of zero — the number branch already fails this way via NaN
                def.value !== BigInt(0) && payload.value % def.value === BigInt(0)
            : util.floatSafeRemainder(payload.value, def.value) === 0;
        if (isMultiple)
            return;
        payload.issues.push({
            origin: typeof payload.value,
            code: "not_multiple_of",
            divisor: def.value,
            input: payload.value,
            inst,
            continue: !def.abort,
        });
    };
})));
const $ZodCheckNumberFormat = /*@__PURE__*/ $constructor("$ZodCheckNumberFormat", (inst, def) => {
    $ZodCheck.init(inst, def); // no format checks
    def.format = def.format || "float64";
    const isInt = def.format?.includes("int");
    const origin = isInt ? "int" : "number";
    const [minimum, maximum] = NUMBER_FORMAT_RANGES[def.format];
    inst._zod.check = (payload) => {
        const input = payload.value;
        if (isInt) {
            if (!Number.isInteger(input)) {
                // invalid_format issue
                // payload.issues.push({
                //   expected: def.format,
                //   format: def.format,
                //   code: "invalid_format",
                //   input,
                //   inst,
                // });
                // invalid_type issue
                payload.issues.push({
                    expected: origin,
                    format: def.format,
                    code: "invalid_type",
                    continue: false,
                    input,
                    inst,
                });
                return;
                // not_multiple_of issue
                // payload.issues.push({
                //   code: "not_multiple_of",
                //   origin: "number",
                //   input,
                //   inst,
                //   divisor: 1,
                // });
            }
            if (!Number.isSafeInteger(input)) {
                if (input > 0) {
                    // too_big
                    payload.issues.push({
                        input,
                        code: "too_big",
                        maximum: Number.MAX_SAFE_INTEGER,
                        note: "Integers must be within the safe integer range.",
                        inst,
                        origin,
                        inclusive: true,
                        continue: !def.abort,
                    });
                }
                else {
                    // too_small
                    payload.issues.push({
                        input,
                        code: "too_small",
                        minimum: Number.MIN_SAFE_INTEGER,
                        note: "Integers must be within the safe integer range.",
                        inst,
                        origin,
                        inclusive: true,
                        continue: !def.abort,
                    });
                }
                return;
            }
        }
        if (input < minimum) {
            payload.issues.push({
                origin: "number",
                input,
                code: "too_small",
                minimum,
                inclusive: true,
                inst,
                continue: !def.abort,
            });
        }
        if (input > maximum) {
            payload.issues.push({
                origin: "number",
                input,
                code: "too_big",
                maximum,
                inclusive: true,
                inst,
                continue: !def.abort,
            });
        }
    };
});
const $ZodCheckBigIntFormat = /*@__PURE__*/ (/* unused pure expression or super */ null && (core.$constructor("$ZodCheckBigIntFormat", (inst, def) => {
    $ZodCheck.init(inst, def); // no format checks
    const [minimum, maximum] = util.BIGINT_FORMAT_RANGES[def.format];
    inst._zod.check = (payload) => {
        const input = payload.value;
        if (input < minimum) {
            payload.issues.push({
                origin: "bigint",
                input,
                code: "too_small",
                minimum: minimum,
                inclusive: true,
                inst,
                continue: !def.abort,
            });
        }
        if (input > maximum) {
            payload.issues.push({
                origin: "bigint",
                input,
                code: "too_big",
                maximum,
                inclusive: true,
                inst,
                continue: !def.abort,
            });
        }
    };
})));
const $ZodCheckMaxSize = /*@__PURE__*/ (/* unused pure expression or super */ null && (core.$constructor("$ZodCheckMaxSize", (inst, def) => {
    var _a;
    $ZodCheck.init(inst, def);
    (_a = inst._zod.def).when ?? (_a.when = _whenHasSize);
    inst._zod.check = (payload) => {
        const input = payload.value;
        const size = input.size;
        if (size <= def.maximum)
            return;
        payload.issues.push({
            origin: util.getSizableOrigin(input),
            code: "too_big",
            maximum: def.maximum,
            inclusive: true,
            input,
            inst,
            continue: !def.abort,
        });
    };
})));
const $ZodCheckMinSize = /*@__PURE__*/ (/* unused pure expression or super */ null && (core.$constructor("$ZodCheckMinSize", (inst, def) => {
    var _a;
    $ZodCheck.init(inst, def);
    (_a = inst._zod.def).when ?? (_a.when = _whenHasSize);
    inst._zod.check = (payload) => {
        const input = payload.value;
        const size = input.size;
        if (size >= def.minimum)
            return;
        payload.issues.push({
            origin: util.getSizableOrigin(input),
            code: "too_small",
            minimum: def.minimum,
            inclusive: true,
            input,
            inst,
            continue: !def.abort,
        });
    };
})));
const $ZodCheckSizeEquals = /*@__PURE__*/ (/* unused pure expression or super */ null && (core.$constructor("$ZodCheckSizeEquals", (inst, def) => {
    var _a;
    $ZodCheck.init(inst, def);
    (_a = inst._zod.def).when ?? (_a.when = _whenHasSize);
    inst._zod.check = (payload) => {
        const input = payload.value;
        const size = input.size;
        if (size === def.size)
            return;
        const tooBig = size > def.size;
        payload.issues.push({
            origin: util.getSizableOrigin(input),
            ...(tooBig ? { code: "too_big", maximum: def.size } : { code: "too_small", minimum: def.size }),
            inclusive: true,
            exact: true,
            input: payload.value,
            inst,
            continue: !def.abort,
        });
    };
})));
const $ZodCheckMaxLength = /*@__PURE__*/ $constructor("$ZodCheckMaxLength", (inst, def) => {
    var _a;
    $ZodCheck.init(inst, def);
    (_a = inst._zod.def).when ?? (_a.when = _whenHasLength);
    inst._zod.check = (payload) => {
        const input = payload.value;
        const units = input.length;
        // Strings are measured in Unicode code points, not UTF-16 units. A code point is at most two units, so a string that already fits in units fits in code points; only an overflow has to be counted.
        const length = typeof input === "string" && units > def.maximum ? util_codePointLength(input) : units;
        if (length <= def.maximum)
            return;
        const origin = getLengthableOrigin(input);
        payload.issues.push({
            origin,
            code: "too_big",
            maximum: def.maximum,
            inclusive: true,
            input,
            inst,
            continue: !def.abort,
        });
    };
});
const $ZodCheckMinLength = /*@__PURE__*/ (/* unused pure expression or super */ null && (core.$constructor("$ZodCheckMinLength", (inst, def) => {
    var _a;
    $ZodCheck.init(inst, def);
    (_a = inst._zod.def).when ?? (_a.when = _whenHasLength);
    inst._zod.check = (payload) => {
        const input = payload.value;
        const units = input.length;
        // A code point is one or two UTF-16 units, so fewer units than the floor can never reach it and twice the floor always clears it. Only in between is the exact count in doubt.
        const length = typeof input === "string" && units >= def.minimum && units < def.minimum * 2
            ? util.codePointLength(input)
            : units;
        if (length >= def.minimum)
            return;
        const origin = util.getLengthableOrigin(input);
        payload.issues.push({
            origin,
            code: "too_small",
            minimum: def.minimum,
            inclusive: true,
            input,
            inst,
            continue: !def.abort,
        });
    };
})));
const $ZodCheckLengthEquals = /*@__PURE__*/ (/* unused pure expression or super */ null && (core.$constructor("$ZodCheckLengthEquals", (inst, def) => {
    var _a;
    $ZodCheck.init(inst, def);
    (_a = inst._zod.def).when ?? (_a.when = _whenHasLength);
    inst._zod.check = (payload) => {
        const input = payload.value;
        const units = input.length;
        // A code point is one or two UTF-16 units, so outside `[length, length * 2]` units the target is missed either way — and missed in the same direction in both measures.
        const length = typeof input === "string" && units >= def.length && units <= def.length * 2
            ? util.codePointLength(input)
            : units;
        if (length === def.length)
            return;
        const origin = util.getLengthableOrigin(input);
        const tooBig = length > def.length;
        payload.issues.push({
            origin,
            ...(tooBig ? { code: "too_big", maximum: def.length } : { code: "too_small", minimum: def.length }),
            inclusive: true,
            exact: true,
            input: payload.value,
            inst,
            continue: !def.abort,
        });
    };
})));
const $ZodCheckStringFormat = /*@__PURE__*/ $constructor("$ZodCheckStringFormat", (inst, def) => {
    var _a, _b;
    $ZodCheck.init(inst, def);
    if (def.pattern)
        (_a = inst._zod).check ?? (_a.check = (payload) => {
            def.pattern.lastIndex = 0;
            if (def.pattern.test(payload.value))
                return;
            payload.issues.push({
                origin: "string",
                code: "invalid_format",
                format: def.format,
                input: payload.value,
                ...(def.pattern ? { pattern: def.pattern.toString() } : {}),
                inst,
                continue: !def.abort,
            });
        });
    else
        (_b = inst._zod).check ?? (_b.check = () => { });
});
const $ZodCheckRegex = /*@__PURE__*/ $constructor("$ZodCheckRegex", (inst, def) => {
    $ZodCheckStringFormat.init(inst, def);
    inst._zod.check = (payload) => {
        def.pattern.lastIndex = 0;
        if (def.pattern.test(payload.value))
            return;
        payload.issues.push({
            origin: "string",
            code: "invalid_format",
            format: "regex",
            input: payload.value,
            pattern: def.pattern.toString(),
            inst,
            continue: !def.abort,
        });
    };
});
const $ZodCheckLowerCase = /*@__PURE__*/ (/* unused pure expression or super */ null && (core.$constructor("$ZodCheckLowerCase", (inst, def) => {
    def.pattern ?? (def.pattern = regexes.lowercase);
    $ZodCheckStringFormat.init(inst, def);
})));
const $ZodCheckUpperCase = /*@__PURE__*/ (/* unused pure expression or super */ null && (core.$constructor("$ZodCheckUpperCase", (inst, def) => {
    def.pattern ?? (def.pattern = regexes.uppercase);
    $ZodCheckStringFormat.init(inst, def);
})));
const $ZodCheckIncludes = /*@__PURE__*/ (/* unused pure expression or super */ null && (core.$constructor("$ZodCheckIncludes", (inst, def) => {
    $ZodCheck.init(inst, def);
    const escapedRegex = util.escapeRegex(def.includes);
    // `String.prototype.includes(sub, position)` matches `sub` at `position`
    // OR LATER, so the pattern must allow at least `position` leading chars
    // (`{N,}`), not exactly `position` chars (`{N}`).
    const pattern = new RegExp(typeof def.position === "number" ? `^.{${def.position},}${escapedRegex}` : escapedRegex);
    def.pattern = pattern;
    inst._zod.check = (payload) => {
        if (payload.value.includes(def.includes, def.position))
            return;
        payload.issues.push({
            origin: "string",
            code: "invalid_format",
            format: "includes",
            includes: def.includes,
            input: payload.value,
            inst,
            continue: !def.abort,
        });
    };
})));
const $ZodCheckStartsWith = /*@__PURE__*/ (/* unused pure expression or super */ null && (core.$constructor("$ZodCheckStartsWith", (inst, def) => {
    $ZodCheck.init(inst, def);
    const pattern = new RegExp(`^${util.escapeRegex(def.prefix)}.*`);
    def.pattern ?? (def.pattern = pattern);
    inst._zod.check = (payload) => {
        if (payload.value.startsWith(def.prefix))
            return;
        payload.issues.push({
            origin: "string",
            code: "invalid_format",
            format: "starts_with",
            prefix: def.prefix,
            input: payload.value,
            inst,
            continue: !def.abort,
        });
    };
})));
const $ZodCheckEndsWith = /*@__PURE__*/ (/* unused pure expression or super */ null && (core.$constructor("$ZodCheckEndsWith", (inst, def) => {
    $ZodCheck.init(inst, def);
    const pattern = new RegExp(`.*${util.escapeRegex(def.suffix)}$`);
    def.pattern ?? (def.pattern = pattern);
    inst._zod.check = (payload) => {
        if (payload.value.endsWith(def.suffix))
            return;
        payload.issues.push({
            origin: "string",
            code: "invalid_format",
            format: "ends_with",
            suffix: def.suffix,
            input: payload.value,
            inst,
            continue: !def.abort,
        });
    };
})));
///////////////////////////////////
/////    $ZodCheckProperty    /////
///////////////////////////////////
function handleCheckPropertyResult(result, payload, property) {
    if (result.issues.length) {
        payload.issues.push(...util.prefixIssues(property, result.issues));
    }
}
const $ZodCheckProperty = /*@__PURE__*/ (/* unused pure expression or super */ null && (core.$constructor("$ZodCheckProperty", (inst, def) => {
    $ZodCheck.init(inst, def);
    inst._zod.check = (payload) => {
        const result = def.schema._zod.run({
            value: payload.value[def.property],
            issues: [],
        }, {});
        if (result instanceof Promise) {
            return result.then((result) => handleCheckPropertyResult(result, payload, def.property));
        }
        handleCheckPropertyResult(result, payload, def.property);
        return;
    };
})));
const $ZodCheckProperties = /*@__PURE__*/ (/* unused pure expression or super */ null && (core.$constructor("$ZodCheckProperties", (inst, def) => {
    $ZodCheck.init(inst, def);
    util.hide(inst, Symbol.iterator, function* () {
        yield inst;
    });
    // key and schema snapshotted together: reading one live and the other cached lets a later mutation of the caller's shape object pair a stale key with a missing schema
    let entries;
    inst._zod.check = (payload) => {
        // the base schema already typed the value, so only a nullish one is rejected here: the properties read on a primitive too, matching z.property() on a string's length
        if (payload.value == null) {
            payload.issues.push({ expected: "object", code: "invalid_type", input: payload.value, inst });
            return undefined;
        }
        entries ?? (entries = Reflect.ownKeys(def.shape).map((key) => [key, def.shape[key]]));
        const input = payload.value;
        let proms;
        for (const [key, schema] of entries) {
            const result = schema._zod.run({ value: input[key], issues: [] }, {});
            if (result instanceof Promise) {
                proms ?? (proms = []);
                proms.push(result.then((result) => handleCheckPropertyResult(result, payload, key)));
            }
            else {
                handleCheckPropertyResult(result, payload, key);
            }
        }
        if (proms)
            return Promise.all(proms).then(() => undefined);
        return undefined;
    };
})));
const $ZodCheckMimeType = /*@__PURE__*/ (/* unused pure expression or super */ null && (core.$constructor("$ZodCheckMimeType", (inst, def) => {
    $ZodCheck.init(inst, def);
    const mimeSet = new Set(def.mime);
    inst._zod.check = (payload) => {
        if (mimeSet.has(payload.value.type))
            return;
        payload.issues.push({
            code: "invalid_value",
            values: def.mime,
            input: payload.value.type,
            inst,
            continue: !def.abort,
        });
    };
})));
const $ZodCheckOverwrite = /*@__PURE__*/ $constructor("$ZodCheckOverwrite", (inst, def) => {
    $ZodCheck.init(inst, def);
    inst._zod.check = (payload) => {
        payload.value = def.tx(payload.value);
    };
});

;// CONCATENATED MODULE: ./node_modules/zod/v4/core/regexes.js

/**
 * @deprecated CUID v1 is deprecated by its authors due to information leakage
 * (timestamps embedded in the id). Use {@link cuid2} instead.
 * See https://github.com/paralleldrive/cuid.
 */
const cuid = /^[cC][0-9a-z]{6,}$/;
const cuid2 = /^[0-9a-z]+$/;
const ulid = /^[0-7][0-9A-HJKMNP-TV-Za-hjkmnp-tv-z]{25}$/;
const xid = /^[0-9a-vA-V]{20}$/;
const ksuid = /^[A-Za-z0-9]{27}$/;
const nanoid = /^[a-zA-Z0-9_-]{21}$/;
function nanoidOfLength(length) {
    return new RegExp(`^[a-zA-Z0-9_-]{${length}}$`);
}
/** ISO 8601-1 duration regex. Does not support the 8601-2 extensions like negative durations or fractional/negative components. */
const duration = /^P(?:(\d+W)|(?!.*W)(?=\d|T\d)(\d+Y)?(\d+M)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+([.,]\d+)?S)?)?)$/;
/** Implements ISO 8601-2 extensions like explicit +- prefixes, mixing weeks with other units, and fractional/negative components. */
const extendedDuration = /^[-+]?P(?!$)(?:(?:[-+]?\d+Y)|(?:[-+]?\d+[.,]\d+Y$))?(?:(?:[-+]?\d+M)|(?:[-+]?\d+[.,]\d+M$))?(?:(?:[-+]?\d+W)|(?:[-+]?\d+[.,]\d+W$))?(?:(?:[-+]?\d+D)|(?:[-+]?\d+[.,]\d+D$))?(?:T(?=[\d+-])(?:(?:[-+]?\d+H)|(?:[-+]?\d+[.,]\d+H$))?(?:(?:[-+]?\d+M)|(?:[-+]?\d+[.,]\d+M$))?(?:[-+]?\d+(?:[.,]\d+)?S)?)??$/;
/** A regex for any UUID-like identifier: 8-4-4-4-12 hex pattern */
const guid = /^([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})$/;
/** Returns a regex for validating an RFC 9562/4122 UUID.
 *
 * @param version Optionally specify a version 1-8. If no version is specified, all versions are supported. */
const uuid = (version) => {
    if (!version)
        return /^([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[1-8][0-9a-fA-F]{3}-[89abAB][0-9a-fA-F]{3}-[0-9a-fA-F]{12}|00000000-0000-0000-0000-000000000000|ffffffff-ffff-ffff-ffff-ffffffffffff)$/;
    return new RegExp(`^([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-${version}[0-9a-fA-F]{3}-[89abAB][0-9a-fA-F]{3}-[0-9a-fA-F]{12})$`);
};
const uuid4 = /*@__PURE__*/ (/* unused pure expression or super */ null && (uuid(4)));
const uuid6 = /*@__PURE__*/ (/* unused pure expression or super */ null && (uuid(6)));
const uuid7 = /*@__PURE__*/ (/* unused pure expression or super */ null && (uuid(7)));
/** Practical email validation */
const email = /^(?:[A-Za-z0-9_'+\-]+\.)*[A-Za-z0-9_'+\-]*[A-Za-z0-9_+-]@(?:[A-Za-z0-9][A-Za-z0-9\-]*\.)+[A-Za-z]{2,}$/;
/** Equivalent to the HTML5 input[type=email] validation implemented by browsers. Source: https://developer.mozilla.org/en-US/docs/Web/HTML/Element/input/email */
const html5Email = /^[a-zA-Z0-9.!#$%&'*+/=?^_`{|}~-]+@[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$/;
/** The classic emailregex.com regex for RFC 5322-compliant emails */
const rfc5322Email = /^(([^<>()\[\]\\.,;:\s@"]+(\.[^<>()\[\]\\.,;:\s@"]+)*)|(".+"))@((\[[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}])|(([a-zA-Z\-0-9]+\.)+[a-zA-Z]{2,}))$/;
/** A loose regex that allows Unicode characters, enforces length limits, and that's about it. */
const unicodeEmail = /^[^\s@"]{1,64}@[^\s@]{1,255}$/u;
const idnEmail = (/* unused pure expression or super */ null && (unicodeEmail));
const browserEmail = /^[a-zA-Z0-9.!#$%&'*+/=?^_`{|}~-]+@[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$/;
// from https://thekevinscott.com/emojis-in-javascript/#writing-a-regular-expression
// Single character class, not an alternation: the two properties overlap (U+1F9B0-U+1F9B3), so `(A|B)+` backtracks exponentially on a failed match. The leading lookahead then demands one anchor — a pictograph, a regional indicator, or the enclosing keycap — because `\p{Emoji_Component}` on its own covers ASCII digits, `#`, `*`, ZWJ, variation selectors and skin tone modifiers, none of which is an emoji without a base.
const _emoji = (/* unused pure expression or super */ null && (`^(?=[\\s\\S]*[\\p{Extended_Pictographic}\\p{Regional_Indicator}\\u20E3])[\\p{Extended_Pictographic}\\p{Emoji_Component}]+$`));
function emoji() {
    return new RegExp(_emoji, "u");
}
const ipv4 = /^(?:(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9][0-9]|[0-9])\.){3}(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9][0-9]|[0-9])$/;
const ipv6 = /^(([0-9a-fA-F]{1,4}:){7}[0-9a-fA-F]{1,4}|([0-9a-fA-F]{1,4}:){1,7}:|([0-9a-fA-F]{1,4}:){1,6}:[0-9a-fA-F]{1,4}|([0-9a-fA-F]{1,4}:){1,5}(:[0-9a-fA-F]{1,4}){1,2}|([0-9a-fA-F]{1,4}:){1,4}(:[0-9a-fA-F]{1,4}){1,3}|([0-9a-fA-F]{1,4}:){1,3}(:[0-9a-fA-F]{1,4}){1,4}|([0-9a-fA-F]{1,4}:){1,2}(:[0-9a-fA-F]{1,4}){1,5}|[0-9a-fA-F]{1,4}:((:[0-9a-fA-F]{1,4}){1,6})|:((:[0-9a-fA-F]{1,4}){1,7}|:))$/;
const mac = (delimiter) => {
    const escapedDelim = util.escapeRegex(delimiter ?? ":");
    return new RegExp(`^(?:[0-9A-F]{2}${escapedDelim}){5}[0-9A-F]{2}$|^(?:[0-9a-f]{2}${escapedDelim}){5}[0-9a-f]{2}$`);
};
const cidrv4 = /^((25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9][0-9]|[0-9])\.){3}(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9][0-9]|[0-9])\/([0-9]|[1-2][0-9]|3[0-2])$/;
const cidrv6 = /^(([0-9a-fA-F]{1,4}:){7}[0-9a-fA-F]{1,4}|([0-9a-fA-F]{1,4}:){1,7}:|([0-9a-fA-F]{1,4}:){1,6}:[0-9a-fA-F]{1,4}|([0-9a-fA-F]{1,4}:){1,5}(:[0-9a-fA-F]{1,4}){1,2}|([0-9a-fA-F]{1,4}:){1,4}(:[0-9a-fA-F]{1,4}){1,3}|([0-9a-fA-F]{1,4}:){1,3}(:[0-9a-fA-F]{1,4}){1,4}|([0-9a-fA-F]{1,4}:){1,2}(:[0-9a-fA-F]{1,4}){1,5}|[0-9a-fA-F]{1,4}:((:[0-9a-fA-F]{1,4}){1,6})|:((:[0-9a-fA-F]{1,4}){1,7}|:))\/(12[0-8]|1[01][0-9]|[1-9]?[0-9])$/;
// https://stackoverflow.com/questions/7860392/determine-if-string-is-in-base64-using-javascript
const base64 = /^$|^(?:[0-9a-zA-Z+/]{4})*(?:(?:[0-9a-zA-Z+/]{2}==)|(?:[0-9a-zA-Z+/]{3}=))?$/;
const base64url = /^(?:[A-Za-z0-9_-]{4})*(?:[A-Za-z0-9_-]{2,3})?$/;
// based on https://stackoverflow.com/questions/106179/regular-expression-to-match-dns-hostname-or-ip-address
// export const hostname: RegExp = /^([a-zA-Z0-9-]+\.)*[a-zA-Z0-9-]+$/;
const hostname = /^(?=.{1,253}\.?$)[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[-0-9a-zA-Z]{0,61}[0-9a-zA-Z])?)*\.?$/;
const domain = /^(?=.{1,253}$)([a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?\.)+[a-zA-Z]{2,63}$/;
const httpProtocol = /^https?$/;
// https://blog.stevenlevithan.com/archives/validate-phone-number#r4-3 (regex sans spaces) E.164: leading digit must be 1-9; total digits (excluding '+') between 7-15
const e164 = /^\+[1-9]\d{6,14}$/;
// Credit card shape: 12–19 digits, optionally separated by single spaces or single hyphens. ISO/IEC 7812 caps the PAN at 19 digits; 12 is the shortest issued length (Maestro).
const creditCard = /^\d(?:[ -]?\d){11,18}$/;
// ISO 4217 alpha codes from the SIX list, regenerated by scripts/update-iso-4217.ts
const currencyCode = /^(?:AED|AFN|ALL|AMD|AOA|ARS|AUD|AWG|AZN|BAM|BBD|BDT|BHD|BIF|BMD|BND|BOB|BOV|BRL|BSD|BTN|BWP|BYN|BZD|CAD|CDF|CHE|CHF|CHW|CLF|CLP|CNY|COP|COU|CRC|CUP|CVE|CZK|DJF|DKK|DOP|DZD|EGP|ERN|ETB|EUR|FJD|FKP|GBP|GEL|GHS|GIP|GMD|GNF|GTQ|GYD|HKD|HNL|HTG|HUF|IDR|ILS|INR|IQD|IRR|ISK|JMD|JOD|JPY|KES|KGS|KHR|KMF|KPW|KRW|KWD|KYD|KZT|LAK|LBP|LKR|LRD|LSL|LYD|MAD|MDL|MGA|MKD|MMK|MNT|MOP|MRU|MUR|MVR|MWK|MXN|MXV|MYR|MZN|NAD|NGN|NIO|NOK|NPR|NZD|OMR|PAB|PEN|PGK|PHP|PKR|PLN|PYG|QAR|RON|RSD|RUB|RWF|SAR|SBD|SCR|SDG|SEK|SGD|SHP|SLE|SOS|SRD|SSP|STN|SVC|SYP|SZL|THB|TJS|TMT|TND|TOP|TRY|TTD|TWD|TZS|UAH|UGX|USD|USN|UYI|UYU|UYW|UZS|VED|VES|VND|VUV|WST|XAD|XAF|XAG|XAU|XBA|XBB|XBC|XBD|XCD|XCG|XDR|XOF|XPD|XPF|XPT|XSU|XTS|XUA|XXX|YER|ZAR|ZMW|ZWG)$/;
// iban electronic format: 2-letter country, check digits 02-98 (the only values `98 - remainder` can produce), 11-30 bban characters
const iban = /^[A-Z]{2}(?!00|01|99)\d{2}[A-Z0-9]{11,30}$/;
const dateSource = (/* unused pure expression or super */ null && (`(?:(?:\\d\\d[2468][048]|\\d\\d[13579][26]|\\d\\d0[48]|[02468][048]00|[13579][26]00)-02-29|\\d{4}-(?:(?:0[13578]|1[02])-(?:0[1-9]|[12]\\d|3[01])|(?:0[469]|11)-(?:0[1-9]|[12]\\d|30)|(?:02)-(?:0[1-9]|1\\d|2[0-8])))`));
/** Anchors a pattern source. The interpolation lives here rather than at the call site because
 * esbuild will not drop a `@__PURE__` call whose own argument interpolates a variable, but it
 * will drop `anchor(dateSource)`. Keeping it inline pinned `date` into every bundle. */
function regexes_anchor(source) {
    return new RegExp(`^${source}$`);
}
const date = /*@__PURE__*/ (/* unused pure expression or super */ null && (regexes_anchor(dateSource)));
function timeSource(args) {
    const hhmm = `(?:[01]\\d|2[0-3]):[0-5]\\d`;
    const regex = typeof args.precision === "number"
        ? args.precision === -1
            ? `${hhmm}`
            : args.precision === 0
                ? `${hhmm}:[0-5]\\d`
                : `${hhmm}:[0-5]\\d\\.\\d{${args.precision}}`
        : args.seconds
            ? `${hhmm}:[0-5]\\d(?:\\.\\d+)?`
            : `${hhmm}(?::[0-5]\\d(?:\\.\\d+)?)?`;
    return regex;
}
function time(args) {
    return new RegExp(`^${timeSource(args)}$`);
}
// Adapted from https://stackoverflow.com/a/3143231
function datetime(args) {
    const opts = ["Z"];
    // if (args.offset) opts.push(`([+-]\\d{2}:\\d{2})`);
    if (args.offset)
        opts.push(`([+-](?:[01]\\d|2[0-3]):[0-5]\\d)`);
    // RFC 3339 mandates seconds wherever the time carries a `Z` or an offset, so only the unqualified form `local` adds may omit them
    const qualified = `${timeSource({ precision: args.precision, seconds: true })}(?:${opts.join("|")})`;
    const timeRegex = args.local ? `${qualified}|${timeSource({ precision: args.precision })}` : qualified;
    return new RegExp(`^${dateSource}T(?:${timeRegex})$`);
}
// the unbounded form of `string()` as a literal, so every plain string shares one instance instead of building its own
const anyString = /^[\s\S]{0,}$/;
const string = (params) => {
    const regex = params ? `[\\s\\S]{${params?.minimum ?? 0},${params?.maximum ?? ""}}` : `[\\s\\S]*`;
    return new RegExp(`^${regex}$`);
};
const bigint = /^-?\d+n?$/;
const integer = /^-?\d+$/;
const number = /^-?\d+(?:\.\d+)?$/;
const regexes_boolean = /^(?:true|false)$/i;
const _null = /^null$/i;

const _undefined = /^undefined$/i;

// regex for string with no uppercase letters
const lowercase = /^[^A-Z]*$/;
// regex for string with no lowercase letters
const uppercase = /^[^a-z]*$/;
// regex for hexadecimal strings (any length)
const hex = /^[0-9a-fA-F]*$/;
// Hash regexes for different algorithms and encodings
// Helper function to create base64 regex with exact length and padding
function fixedBase64(bodyLength, padding) {
    return new RegExp(`^[A-Za-z0-9+/]{${bodyLength}}${padding}$`);
}
// Helper function to create base64url regex with exact length (no padding)
function fixedBase64url(length) {
    return new RegExp(`^[A-Za-z0-9_-]{${length}}$`);
}
// MD5 (16 bytes): base64 = 24 chars total (22 + "==")
const md5_hex = /^[0-9a-fA-F]{32}$/;
const md5_base64 = /*@__PURE__*/ (/* unused pure expression or super */ null && (fixedBase64(22, "==")));
const md5_base64url = /*@__PURE__*/ (/* unused pure expression or super */ null && (fixedBase64url(22)));
// SHA1 (20 bytes): base64 = 28 chars total (27 + "=")
const sha1_hex = /^[0-9a-fA-F]{40}$/;
const sha1_base64 = /*@__PURE__*/ (/* unused pure expression or super */ null && (fixedBase64(27, "=")));
const sha1_base64url = /*@__PURE__*/ (/* unused pure expression or super */ null && (fixedBase64url(27)));
// SHA256 (32 bytes): base64 = 44 chars total (43 + "=")
const sha256_hex = /^[0-9a-fA-F]{64}$/;
const sha256_base64 = /*@__PURE__*/ (/* unused pure expression or super */ null && (fixedBase64(43, "=")));
const sha256_base64url = /*@__PURE__*/ (/* unused pure expression or super */ null && (fixedBase64url(43)));
// SHA384 (48 bytes): base64 = 64 chars total (no padding)
const sha384_hex = /^[0-9a-fA-F]{96}$/;
const sha384_base64 = /*@__PURE__*/ (/* unused pure expression or super */ null && (fixedBase64(64, "")));
const sha384_base64url = /*@__PURE__*/ (/* unused pure expression or super */ null && (fixedBase64url(64)));
// SHA512 (64 bytes): base64 = 88 chars total (86 + "==")
const sha512_hex = /^[0-9a-fA-F]{128}$/;
const sha512_base64 = /*@__PURE__*/ (/* unused pure expression or super */ null && (fixedBase64(86, "==")));
const sha512_base64url = /*@__PURE__*/ (/* unused pure expression or super */ null && (fixedBase64url(86)));

;// CONCATENATED MODULE: ./node_modules/zod/v4/core/versions.js
const version = {
    major: 4,
    minor: 6,
    patch: 7,
};

;// CONCATENATED MODULE: ./node_modules/zod/v4/core/schemas.js







const $ZodType = /*@__PURE__*/ $constructor("$ZodType", (inst, def) => {
    var _a;
    inst ?? (inst = {});
    inst._zod.def = def; // set _def property
    inst._zod.bag = inst._zod.bag || {}; // initialize _bag object
    inst._zod.version = version;
    const defChecks = inst._zod.def.checks;
    // if inst is itself a checks.$ZodCheck, run it as a check
    const checks = inst._zod.traits.has("$ZodCheck")
        ? [inst, ...(defChecks ?? [])]
        : defChecks?.length
            ? [...defChecks]
            : [];
    for (const ch of checks) {
        for (const fn of ch._zod.onattach) {
            fn(inst);
        }
    }
    if (checks.length === 0) {
        // deferred initializer inst._zod.parse is not yet defined
        (_a = inst._zod).deferred ?? (_a.deferred = []);
        inst._zod.deferred?.push(() => {
            inst._zod.run = inst._zod.parse;
        });
    }
    else {
        const runChecks = (payload, checks, ctx) => {
            if (payload.memo)
                return payload;
            let isAborted = aborted(payload);
            let asyncResult;
            for (const ch of checks) {
                if (ch._zod.def.when) {
                    if (explicitlyAborted(payload))
                        continue;
                    const shouldRun = ch._zod.def.when(payload);
                    if (!shouldRun)
                        continue;
                }
                else if (isAborted) {
                    continue;
                }
                const currLen = payload.issues.length;
                const _ = ch._zod.check(payload);
                if (_ instanceof Promise && ctx?.async === false) {
                    throw new $ZodAsyncError();
                }
                if (asyncResult || _ instanceof Promise) {
                    asyncResult = (asyncResult ?? Promise.resolve()).then(async () => {
                        await _;
                        const nextLen = payload.issues.length;
                        if (nextLen === currLen)
                            return;
                        attachSchema(payload.issues, currLen, inst);
                        if (!isAborted)
                            isAborted = aborted(payload, currLen);
                    });
                }
                else {
                    const nextLen = payload.issues.length;
                    if (nextLen === currLen)
                        continue;
                    attachSchema(payload.issues, currLen, inst);
                    if (!isAborted)
                        isAborted = aborted(payload, currLen);
                }
            }
            if (asyncResult) {
                return asyncResult.then(() => {
                    return payload;
                });
            }
            return payload;
        };
        const handleCanaryResult = (canary, payload, ctx) => {
            // abort if the canary is aborted
            if (aborted(canary)) {
                canary.aborted = true;
                return canary;
            }
            // run checks first, then
            const checkResult = runChecks(payload, checks, ctx);
            if (checkResult instanceof Promise) {
                if (ctx.async === false)
                    throw new $ZodAsyncError();
                return checkResult.then((checkResult) => inst._zod.parse(checkResult, ctx));
            }
            return inst._zod.parse(checkResult, ctx);
        };
        inst._zod.run = (payload, ctx) => {
            if (ctx.skipChecks) {
                return inst._zod.parse(payload, ctx);
            }
            if (ctx.direction === "backward") {
                // run canary initial pass (no checks)
                const canary = inst._zod.parse({ value: payload.value, issues: [] }, { ...ctx, skipChecks: true });
                if (canary instanceof Promise) {
                    return canary.then((canary) => {
                        return handleCanaryResult(canary, payload, ctx);
                    });
                }
                return handleCanaryResult(canary, payload, ctx);
            }
            // forward
            const result = inst._zod.parse(payload, ctx);
            if (result instanceof Promise) {
                if (ctx.async === false)
                    throw new $ZodAsyncError();
                return result.then((result) => runChecks(result, checks, ctx));
            }
            return runChecks(result, checks, ctx);
        };
    }
}, {
    // Wrappers extend this by installing a richer factory over it; reading it eagerly would defeat the laziness.
    get "~standard"() {
        return hide(this, "~standard", standardProps(this));
    },
    set "~standard"(value) {
        own(this, "~standard", value);
    },
});
/** The Standard Schema surface for `inst`. Shared so wrappers can extend it without forcing it. */
// a Standard Schema result only reports issues, so a failure finalizes them straight off the raw payload: no ZodError, and no lazy result to read through
const toStandardResult = (r, ctx) => r.issues.length ? { issues: r.issues.map((iss) => finalizeIssue(iss, ctx, config())) } : { value: r.value };
async function validateAsync(inst, value) {
    const ctx = { async: true };
    return toStandardResult((await inst._zod.run({ value, issues: [] }, ctx)), ctx);
}
function standardProps(inst) {
    return {
        validate: (value) => {
            const ctx = { async: false };
            try {
                const r = inst._zod.run({ value, issues: [] }, ctx);
                if (!(r instanceof Promise))
                    return toStandardResult(r, ctx);
            }
            catch (_) { }
            // async function so a synchronously throwing check rejects instead of escaping validate
            return validateAsync(inst, value);
        },
        vendor: "zod",
        version: 1,
    };
}

const $ZodString = /*@__PURE__*/ $constructor("$ZodString", (inst, def) => {
    $ZodType.init(inst, def);
    // a format's own pattern, else unbounded; a template literal derives the check-aware form itself
    inst._zod.pattern = def.pattern ?? anyString;
    inst._zod.parse = (payload, _) => {
        if (def.coerce)
            try {
                payload.value = String(payload.value);
            }
            catch (_) { }
        if (typeof payload.value === "string")
            return payload;
        payload.issues.push({
            expected: "string",
            code: "invalid_type",
            input: payload.value,
            inst,
        });
        return payload;
    };
});
const $ZodStringFormat = /*@__PURE__*/ (/* unused pure expression or super */ null && (core.$constructor("$ZodStringFormat", (inst, def) => {
    // check initialization must come first
    checks.$ZodCheckStringFormat.init(inst, def);
    $ZodString.init(inst, def);
})));
const $ZodGUID = /*@__PURE__*/ (/* unused pure expression or super */ null && (core.$constructor("$ZodGUID", (inst, def) => {
    def.pattern ?? (def.pattern = regexes.guid);
    $ZodStringFormat.init(inst, def);
})));
const $ZodUUID = /*@__PURE__*/ (/* unused pure expression or super */ null && (core.$constructor("$ZodUUID", (inst, def) => {
    if (def.version) {
        const versionMap = {
            v1: 1,
            v2: 2,
            v3: 3,
            v4: 4,
            v5: 5,
            v6: 6,
            v7: 7,
            v8: 8,
        };
        const v = versionMap[def.version];
        if (v === undefined)
            throw new Error(`Invalid UUID version: "${def.version}"`);
        def.pattern ?? (def.pattern = regexes.uuid(v));
    }
    else
        def.pattern ?? (def.pattern = regexes.uuid());
    $ZodStringFormat.init(inst, def);
})));
const $ZodEmail = /*@__PURE__*/ (/* unused pure expression or super */ null && (core.$constructor("$ZodEmail", (inst, def) => {
    def.pattern ?? (def.pattern = regexes.email);
    $ZodStringFormat.init(inst, def);
})));
/** The `://` guard rejected the input before the URL constructor saw it. */
const URL_BAD_FORMAT = 1;
/** The URL parser rejected the input. */
const URL_UNPARSEABLE = 2;
function canParseURL(input) {
    try {
        if (typeof URL !== "undefined" && typeof URL.canParse === "function")
            return URL.canParse(input);
        new URL(input);
        return true;
    }
    catch {
        return false;
    }
}
function validateURL(trimmed, def) {
    if (!("normalize" in def) && !("hostname" in def) && !("protocol" in def)) {
        return canParseURL(trimmed) || URL_UNPARSEABLE;
    }
    return parseURLObject(trimmed, def);
}
/** Parses a URL while preserving the non-normalizing HTTP guard. */
function parseURLObject(trimmed, def) {
    // When normalize is off, require :// for http/https URLs. This prevents strings like "http:example.com" or "https:/path" from being silently accepted
    if (!def.normalize && def.protocol?.source === regexes.httpProtocol.source && !/^https?:\/\//i.test(trimmed)) {
        return URL_BAD_FORMAT;
    }
    try {
        if (typeof URL !== "undefined") {
            const URLStatic = URL;
            if (typeof URLStatic.parse === "function")
                return URLStatic.parse(trimmed) ?? URL_UNPARSEABLE;
        }
        // @ts-ignore
        return new URL(trimmed);
    }
    catch {
        return URL_UNPARSEABLE;
    }
}
const asciiTabOrNewline = /[\t\n\r]/g;
/** The URL parser deletes every ASCII tab, LF and CR from its input before it parses, so `new URL("https://exa\nmple.com")` reports on `example.com`. Applying the same deletion to the returned value closes the half of that divergence which can move the host; the parser's other rewrite, stripping C0 controls at the edges, cannot. */
function stripTabAndNewline(value) {
    return value.replace(asciiTabOrNewline, "");
}
function urlHostnameOk(url, hostname) {
    hostname.lastIndex = 0;
    return hostname.test(url.hostname);
}
function urlProtocolOk(url, protocol) {
    protocol.lastIndex = 0;
    return protocol.test(url.protocol.endsWith(":") ? url.protocol.slice(0, -1) : url.protocol);
}
const $ZodURL = /*@__PURE__*/ (/* unused pure expression or super */ null && (core.$constructor("$ZodURL", (inst, def) => {
    $ZodStringFormat.init(inst, def);
    inst._zod.check = (payload) => {
        try {
            // Trim whitespace from input
            const trimmed = payload.value.trim();
            const url = validateURL(trimmed, def);
            if (url === URL_BAD_FORMAT) {
                payload.issues.push({
                    code: "invalid_format",
                    format: "url",
                    note: "Invalid URL format",
                    input: payload.value,
                    inst,
                    continue: !def.abort,
                });
                return;
            }
            if (url === URL_UNPARSEABLE) {
                payload.issues.push({
                    code: "invalid_format",
                    format: "url",
                    input: payload.value,
                    inst,
                    continue: !def.abort,
                });
                return;
            }
            if (url === true) {
                payload.value = stripTabAndNewline(trimmed);
                return;
            }
            if (def.hostname && !urlHostnameOk(url, def.hostname)) {
                payload.issues.push({
                    code: "invalid_format",
                    format: "url",
                    note: "Invalid hostname",
                    pattern: def.hostname.source,
                    input: payload.value,
                    inst,
                    continue: !def.abort,
                });
            }
            if (def.protocol && !urlProtocolOk(url, def.protocol)) {
                payload.issues.push({
                    code: "invalid_format",
                    format: "url",
                    note: "Invalid protocol",
                    pattern: def.protocol.source,
                    input: payload.value,
                    inst,
                    continue: !def.abort,
                });
            }
            // Set the output value based on normalize flag
            payload.value = def.normalize ? url.href : stripTabAndNewline(trimmed);
            return;
        }
        catch (_) {
            payload.issues.push({
                code: "invalid_format",
                format: "url",
                input: payload.value,
                inst,
                continue: !def.abort,
            });
        }
    };
})));
const $ZodEmoji = /*@__PURE__*/ (/* unused pure expression or super */ null && (core.$constructor("$ZodEmoji", (inst, def) => {
    def.pattern ?? (def.pattern = regexes.emoji());
    $ZodStringFormat.init(inst, def);
})));
const $ZodNanoID = /*@__PURE__*/ (/* unused pure expression or super */ null && (core.$constructor("$ZodNanoID", (inst, def) => {
    if (def.length !== undefined && (!Number.isInteger(def.length) || def.length < 1))
        throw new Error(`Invalid nanoid length: ${def.length}`);
    def.pattern ?? (def.pattern = def.length === undefined ? regexes.nanoid : regexes.nanoidOfLength(def.length));
    $ZodStringFormat.init(inst, def);
})));
/**
 * @deprecated CUID v1 is deprecated by its authors due to information leakage
 * (timestamps embedded in the id). Use {@link $ZodCUID2} instead.
 * See https://github.com/paralleldrive/cuid.
 */
const $ZodCUID = /*@__PURE__*/ (/* unused pure expression or super */ null && (core.$constructor("$ZodCUID", (inst, def) => {
    def.pattern ?? (def.pattern = regexes.cuid);
    $ZodStringFormat.init(inst, def);
})));
const $ZodCUID2 = /*@__PURE__*/ (/* unused pure expression or super */ null && (core.$constructor("$ZodCUID2", (inst, def) => {
    def.pattern ?? (def.pattern = regexes.cuid2);
    $ZodStringFormat.init(inst, def);
})));
const $ZodULID = /*@__PURE__*/ (/* unused pure expression or super */ null && (core.$constructor("$ZodULID", (inst, def) => {
    def.pattern ?? (def.pattern = regexes.ulid);
    $ZodStringFormat.init(inst, def);
})));
const $ZodXID = /*@__PURE__*/ (/* unused pure expression or super */ null && (core.$constructor("$ZodXID", (inst, def) => {
    def.pattern ?? (def.pattern = regexes.xid);
    $ZodStringFormat.init(inst, def);
})));
const $ZodKSUID = /*@__PURE__*/ (/* unused pure expression or super */ null && (core.$constructor("$ZodKSUID", (inst, def) => {
    def.pattern ?? (def.pattern = regexes.ksuid);
    $ZodStringFormat.init(inst, def);
})));
const $ZodISODateTime = /*@__PURE__*/ (/* unused pure expression or super */ null && (core.$constructor("$ZodISODateTime", (inst, def) => {
    def.pattern ?? (def.pattern = regexes.datetime(def));
    $ZodStringFormat.init(inst, def);
})));
const $ZodISODate = /*@__PURE__*/ (/* unused pure expression or super */ null && (core.$constructor("$ZodISODate", (inst, def) => {
    def.pattern ?? (def.pattern = regexes.date);
    $ZodStringFormat.init(inst, def);
})));
const $ZodISOTime = /*@__PURE__*/ (/* unused pure expression or super */ null && (core.$constructor("$ZodISOTime", (inst, def) => {
    def.pattern ?? (def.pattern = regexes.time(def));
    $ZodStringFormat.init(inst, def);
})));
const $ZodISODuration = /*@__PURE__*/ (/* unused pure expression or super */ null && (core.$constructor("$ZodISODuration", (inst, def) => {
    def.pattern ?? (def.pattern = regexes.duration);
    $ZodStringFormat.init(inst, def);
})));
const $ZodIPv4 = /*@__PURE__*/ (/* unused pure expression or super */ null && (core.$constructor("$ZodIPv4", (inst, def) => {
    def.pattern ?? (def.pattern = regexes.ipv4);
    $ZodStringFormat.init(inst, def);
})));
/** An IPv6 address is written with hex digits, colons and dots, and nothing else. The guard is what makes the check below an IPv6 check: `new URL("http://[...]")` parses an authority, not an address, so `@` and `\` re-delimit it and `"::@1\\"` validates against the host `0.0.0.1`. The URL parser also deletes ASCII tab, LF and CR rather than failing, which is how `"::1\n"` validated as `::1`. */
const ipv6Alphabet = /^[0-9a-fA-F:.]+$/;
function isValidIPv6(value) {
    if (!ipv6Alphabet.test(value))
        return false;
    return canParseURL(`http://[${value}]`);
}
const $ZodIPv6 = /*@__PURE__*/ (/* unused pure expression or super */ null && (core.$constructor("$ZodIPv6", (inst, def) => {
    def.pattern ?? (def.pattern = regexes.ipv6);
    $ZodStringFormat.init(inst, def);
    inst._zod.check = (payload) => {
        if (!isValidIPv6(payload.value)) {
            payload.issues.push({
                code: "invalid_format",
                format: "ipv6",
                input: payload.value,
                inst,
                continue: !def.abort,
            });
        }
    };
})));
const $ZodMAC = /*@__PURE__*/ (/* unused pure expression or super */ null && (core.$constructor("$ZodMAC", (inst, def) => {
    def.pattern ?? (def.pattern = regexes.mac(def.delimiter));
    $ZodStringFormat.init(inst, def);
})));
const $ZodCIDRv4 = /*@__PURE__*/ (/* unused pure expression or super */ null && (core.$constructor("$ZodCIDRv4", (inst, def) => {
    def.pattern ?? (def.pattern = regexes.cidrv4);
    $ZodStringFormat.init(inst, def);
})));
function isValidCIDRv6(value) {
    const parts = value.split("/");
    if (parts.length !== 2)
        return false;
    const [address, prefix] = parts;
    if (!prefix)
        return false;
    const prefixNum = Number(prefix);
    if (`${prefixNum}` !== prefix)
        return false;
    if (prefixNum < 0 || prefixNum > 128)
        return false;
    return isValidIPv6(address);
}
const $ZodCIDRv6 = /*@__PURE__*/ (/* unused pure expression or super */ null && (core.$constructor("$ZodCIDRv6", (inst, def) => {
    def.pattern ?? (def.pattern = regexes.cidrv6); // not used for validation
    $ZodStringFormat.init(inst, def);
    inst._zod.check = (payload) => {
        if (!isValidCIDRv6(payload.value)) {
            payload.issues.push({
                code: "invalid_format",
                format: "cidrv6",
                input: payload.value,
                inst,
                continue: !def.abort,
            });
        }
    };
})));
//////////////////////////////   ZodBase64   //////////////////////////////
function isValidBase64(data) {
    if (data === "")
        return true;
    // atob ignores whitespace, so reject it up front.
    if (/\s/.test(data))
        return false;
    if (data.length % 4 !== 0)
        return false;
    try {
        // @ts-ignore
        atob(data);
        return true;
    }
    catch {
        return false;
    }
}
// lax on purpose: the quantified regexes.base64 overflows the regex stack on multi-MB input and its leading ^$| alternation leaks through template-literal composition; isValidBase64 enforces length and padding
const base64Charset = /^[0-9a-zA-Z+/]*={0,2}$/;
const $ZodBase64 = /*@__PURE__*/ (/* unused pure expression or super */ null && (core.$constructor("$ZodBase64", (inst, def) => {
    def.pattern ?? (def.pattern = base64Charset);
    $ZodStringFormat.init(inst, def);
    inst._zod.check = (payload) => {
        if (isValidBase64(payload.value))
            return;
        payload.issues.push({
            code: "invalid_format",
            format: "base64",
            input: payload.value,
            inst,
            continue: !def.abort,
        });
    };
})));
//////////////////////////////   ZodBase64URL   //////////////////////////////
// lax on purpose: the quantified regexes.base64url overflows the regex stack on multi-MB input; isValidBase64 enforces length on the padded string
const base64urlCharset = /^[A-Za-z0-9_-]*$/;
function isValidBase64URL(data) {
    if (!base64urlCharset.test(data))
        return false;
    const base64 = data.replace(/[-_]/g, (c) => (c === "-" ? "+" : "/"));
    const padded = base64.padEnd(Math.ceil(base64.length / 4) * 4, "=");
    return isValidBase64(padded);
}
const $ZodBase64URL = /*@__PURE__*/ (/* unused pure expression or super */ null && (core.$constructor("$ZodBase64URL", (inst, def) => {
    def.pattern ?? (def.pattern = base64urlCharset);
    $ZodStringFormat.init(inst, def);
    inst._zod.check = (payload) => {
        if (isValidBase64URL(payload.value))
            return;
        payload.issues.push({
            code: "invalid_format",
            format: "base64url",
            input: payload.value,
            inst,
            continue: !def.abort,
        });
    };
})));
const $ZodE164 = /*@__PURE__*/ (/* unused pure expression or super */ null && (core.$constructor("$ZodE164", (inst, def) => {
    def.pattern ?? (def.pattern = regexes.e164);
    $ZodStringFormat.init(inst, def);
})));
//////////////////////////////   ZodCreditCard   //////////////////////////////
const CC_SANITIZE = /[- ]/g;
/** Luhn checksum on a digit-only string. Adapted from valibot (MIT). */
function isLuhnAlgo(digits) {
    let length = digits.length;
    let bit = 1;
    let sum = 0;
    while (length) {
        const value = digits.charCodeAt(--length) - 48;
        bit ^= 1;
        sum += bit ? [0, 2, 4, 6, 8, 1, 3, 5, 7, 9][value] : value;
    }
    return sum % 10 === 0;
}
function isValidCreditCard(input) {
    if (!regexes.creditCard.test(input))
        return false;
    return isLuhnAlgo(input.replace(CC_SANITIZE, ""));
}
const $ZodCreditCard = /*@__PURE__*/ (/* unused pure expression or super */ null && (core.$constructor("$ZodCreditCard", (inst, def) => {
    // Shape only — the Luhn check below is not expressible as a pattern, so consumers of `pattern` (JSON Schema, template literals) get the length and separator rules alone.
    def.pattern ?? (def.pattern = regexes.creditCard);
    $ZodStringFormat.init(inst, def);
    inst._zod.check = (payload) => {
        if (isValidCreditCard(payload.value))
            return;
        payload.issues.push({
            code: "invalid_format",
            format: "credit_card",
            input: payload.value,
            inst,
            continue: !def.abort,
        });
    };
})));
//////////////////////////////   ZodIBAN   //////////////////////////////
// iso 7064 mod 97-10 checksum without BigInt
function isIso7064Mod97(iban) {
    let remainder = 0;
    const len = iban.length;
    for (let i = 4; i < len; i++) {
        const code = iban.charCodeAt(i);
        remainder = (code >= 65 ? remainder * 100 + (code - 55) : remainder * 10 + (code - 48)) % 97;
    }
    for (let i = 0; i < 4; i++) {
        const code = iban.charCodeAt(i);
        remainder = (code >= 65 ? remainder * 100 + (code - 55) : remainder * 10 + (code - 48)) % 97;
    }
    return remainder === 1;
}
function isValidIBAN(input) {
    if (!regexes.iban.test(input))
        return false;
    return isIso7064Mod97(input);
}
const $ZodIBAN = /*@__PURE__*/ (/* unused pure expression or super */ null && (core.$constructor("$ZodIBAN", (inst, def) => {
    // shape only — checksum is not expressible as a pattern
    def.pattern ?? (def.pattern = regexes.iban);
    $ZodStringFormat.init(inst, def);
    inst._zod.check = (payload) => {
        if (isValidIBAN(payload.value))
            return;
        payload.issues.push({
            code: "invalid_format",
            format: "iban",
            input: payload.value,
            inst,
            continue: !def.abort,
        });
    };
})));
//////////////////////////////   ZodJWT   //////////////////////////////
function isValidJWT(token, algorithm = null) {
    try {
        const tokensParts = token.split(".");
        if (tokensParts.length !== 3)
            return false;
        const [header] = tokensParts;
        if (!header)
            return false;
        // @ts-ignore
        const parsedHeader = JSON.parse(atob(header));
        if ("typ" in parsedHeader && parsedHeader?.typ !== "JWT")
            return false;
        if (!parsedHeader.alg)
            return false;
        if (algorithm && (!("alg" in parsedHeader) || parsedHeader.alg !== algorithm))
            return false;
        return true;
    }
    catch {
        return false;
    }
}
const $ZodJWT = /*@__PURE__*/ (/* unused pure expression or super */ null && (core.$constructor("$ZodJWT", (inst, def) => {
    $ZodStringFormat.init(inst, def);
    inst._zod.check = (payload) => {
        if (isValidJWT(payload.value, def.alg))
            return;
        payload.issues.push({
            code: "invalid_format",
            format: "jwt",
            input: payload.value,
            inst,
            continue: !def.abort,
        });
    };
})));
const $ZodCustomStringFormat = /*@__PURE__*/ (/* unused pure expression or super */ null && (core.$constructor("$ZodCustomStringFormat", (inst, def) => {
    $ZodStringFormat.init(inst, def);
    inst._zod.check = (payload) => {
        if (def.fn(payload.value))
            return;
        payload.issues.push({
            code: "invalid_format",
            format: def.format,
            input: payload.value,
            inst,
            continue: !def.abort,
        });
    };
})));
const $ZodNumber = /*@__PURE__*/ $constructor("$ZodNumber", (inst, def) => {
    $ZodType.init(inst, def);
    inst._zod.pattern = number;
    inst._zod.parse = (payload, _ctx) => {
        if (def.coerce)
            try {
                payload.value = Number(payload.value);
            }
            catch (_) { }
        const input = payload.value;
        if (typeof input === "number" && !Number.isNaN(input) && Number.isFinite(input)) {
            return payload;
        }
        const received = typeof input === "number"
            ? Number.isNaN(input)
                ? "NaN"
                : !Number.isFinite(input)
                    ? String(input)
                    : undefined
            : undefined;
        payload.issues.push({
            expected: "number",
            code: "invalid_type",
            input,
            inst,
            ...(received ? { received } : {}),
        });
        return payload;
    };
});
const $ZodNumberFormat = /*@__PURE__*/ $constructor("$ZodNumberFormat", (inst, def) => {
    $ZodCheckNumberFormat.init(inst, def);
    $ZodNumber.init(inst, def); // no format checks
});
const $ZodBoolean = /*@__PURE__*/ (/* unused pure expression or super */ null && (core.$constructor("$ZodBoolean", (inst, def) => {
    $ZodType.init(inst, def);
    inst._zod.pattern = regexes.boolean;
    inst._zod.parse = (payload, _ctx) => {
        if (def.coerce)
            try {
                payload.value = Boolean(payload.value);
            }
            catch (_) { }
        const input = payload.value;
        if (typeof input === "boolean")
            return payload;
        payload.issues.push({
            expected: "boolean",
            code: "invalid_type",
            input,
            inst,
        });
        return payload;
    };
})));
const $ZodBigInt = /*@__PURE__*/ (/* unused pure expression or super */ null && (core.$constructor("$ZodBigInt", (inst, def) => {
    $ZodType.init(inst, def);
    inst._zod.pattern = regexes.bigint;
    inst._zod.parse = (payload, _ctx) => {
        if (def.coerce)
            try {
                payload.value = BigInt(payload.value);
            }
            catch (_) { }
        if (typeof payload.value === "bigint")
            return payload;
        payload.issues.push({
            expected: "bigint",
            code: "invalid_type",
            input: payload.value,
            inst,
        });
        return payload;
    };
})));
const $ZodBigIntFormat = /*@__PURE__*/ (/* unused pure expression or super */ null && (core.$constructor("$ZodBigIntFormat", (inst, def) => {
    checks.$ZodCheckBigIntFormat.init(inst, def);
    $ZodBigInt.init(inst, def); // no format checks
})));
const $ZodSymbol = /*@__PURE__*/ (/* unused pure expression or super */ null && (core.$constructor("$ZodSymbol", (inst, def) => {
    $ZodType.init(inst, def);
    inst._zod.parse = (payload, _ctx) => {
        const input = payload.value;
        if (typeof input === "symbol")
            return payload;
        payload.issues.push({
            expected: "symbol",
            code: "invalid_type",
            input,
            inst,
        });
        return payload;
    };
})));
const $ZodUndefined = /*@__PURE__*/ (/* unused pure expression or super */ null && (core.$constructor("$ZodUndefined", (inst, def) => {
    $ZodType.init(inst, def);
    inst._zod.pattern = regexes.undefined;
    inst._zod.values = new Set([undefined]);
    inst._zod.parse = (payload, _ctx) => {
        const input = payload.value;
        if (typeof input === "undefined")
            return payload;
        payload.issues.push({
            expected: "undefined",
            code: "invalid_type",
            input,
            inst,
        });
        return payload;
    };
})));
const $ZodNull = /*@__PURE__*/ (/* unused pure expression or super */ null && (core.$constructor("$ZodNull", (inst, def) => {
    $ZodType.init(inst, def);
    inst._zod.pattern = regexes.null;
    inst._zod.values = new Set([null]);
    inst._zod.parse = (payload, _ctx) => {
        const input = payload.value;
        if (input === null)
            return payload;
        payload.issues.push({
            expected: "null",
            code: "invalid_type",
            input,
            inst,
        });
        return payload;
    };
})));
const $ZodAny = /*@__PURE__*/ (/* unused pure expression or super */ null && (core.$constructor("$ZodAny", (inst, def) => {
    $ZodType.init(inst, def);
    inst._zod.parse = (payload) => payload;
})));
const $ZodUnknown = /*@__PURE__*/ (/* unused pure expression or super */ null && (core.$constructor("$ZodUnknown", (inst, def) => {
    $ZodType.init(inst, def);
    inst._zod.parse = (payload) => payload;
})));
const $ZodNever = /*@__PURE__*/ (/* unused pure expression or super */ null && (core.$constructor("$ZodNever", (inst, def) => {
    $ZodType.init(inst, def);
    inst._zod.parse = (payload, _ctx) => {
        payload.issues.push({
            expected: "never",
            code: "invalid_type",
            input: payload.value,
            inst,
        });
        return payload;
    };
})));
const $ZodVoid = /*@__PURE__*/ (/* unused pure expression or super */ null && (core.$constructor("$ZodVoid", (inst, def) => {
    $ZodType.init(inst, def);
    inst._zod.parse = (payload, _ctx) => {
        const input = payload.value;
        if (typeof input === "undefined")
            return payload;
        payload.issues.push({
            expected: "void",
            code: "invalid_type",
            input,
            inst,
        });
        return payload;
    };
})));
const $ZodDate = /*@__PURE__*/ (/* unused pure expression or super */ null && (core.$constructor("$ZodDate", (inst, def) => {
    $ZodType.init(inst, def);
    inst._zod.parse = (payload, _ctx) => {
        if (def.coerce) {
            try {
                payload.value = new Date(payload.value);
            }
            catch (_err) { }
        }
        const input = payload.value;
        const isDate = input instanceof Date;
        const isValidDate = isDate && !Number.isNaN(input.getTime());
        if (isValidDate)
            return payload;
        payload.issues.push({
            expected: "date",
            code: "invalid_type",
            input,
            ...(isDate ? { received: "Invalid Date" } : {}),
            inst,
        });
        return payload;
    };
})));
// an oversized container fails its leading size checks before any element is parsed
function capSize(inst, size) {
    const caps = util.sizeCaps(inst._zod.def.checks);
    if (!caps.length)
        return;
    const cap = Math.min(...caps.map((c) => c[0]));
    const parse = inst._zod.parse;
    inst._zod.parse = (payload, ctx) => {
        const n = size(payload.value);
        if (n > cap && !ctx?.skipChecks && ctx?.direction !== "backward") {
            for (const [max, ch] of util.sizeCaps(inst._zod.def.checks)) {
                if (n > max && ch._zod.def.when(payload)) {
                    const start = payload.issues.length;
                    ch._zod.check(payload);
                    // the value is still the raw input, so no later check may read it
                    payload.issues[start].continue = false;
                    util.attachSchema(payload.issues, start, inst);
                    return payload;
                }
            }
        }
        return parse(payload, ctx);
    };
}
const arraySize = (input) => (Array.isArray(input) ? input.length : -1);
const mapSize = (input) => (input instanceof Map ? input.size : -1);
const setSize = (input) => (input instanceof Set ? input.size : -1);
function handleArrayResult(result, final, index) {
    if (result.issues.length) {
        final.issues.push(...util.prefixIssues(index, result.issues));
    }
    final.value[index] = result.value;
}
const $ZodArray = /*@__PURE__*/ (/* unused pure expression or super */ null && (core.$constructor("$ZodArray", (inst, def) => {
    $ZodType.init(inst, def);
    const memo = core.globalConfig.memoizer;
    memo?.attach(inst);
    inst._zod.parse = (payload, ctx) => {
        const input = payload.value;
        if (!Array.isArray(input)) {
            payload.issues.push({
                expected: "array",
                code: "invalid_type",
                input,
                inst,
            });
            return payload;
        }
        payload.value = memo ? memo.alloc(inst, payload, Array(input.length), ctx) : Array(input.length);
        const proms = [];
        const abortEarly = ctx?.abortEarly;
        for (let i = 0; i < input.length; i++) {
            const item = input[i];
            const result = def.element._zod.run({
                value: item,
                issues: [],
            }, ctx);
            if (result instanceof Promise) {
                proms.push(result.then((result) => handleArrayResult(result, payload, i)));
            }
            else {
                handleArrayResult(result, payload, i);
                // the element's payload is authoritative here, since handleArrayResult forwards every issue; an object's is not, because it drops a failed absent optional
                if (abortEarly && result.issues.length !== 0 && util.aborted(result))
                    break;
            }
        }
        if (proms.length) {
            return Promise.all(proms).then(() => payload);
        }
        return payload; //handleArrayResultsAsync(parseResults, final);
    };
    capSize(inst, arraySize);
})));
function handlePropertyResult(result, final, key, input, optin, optout) {
    const isPresent = key in input;
    const isOptionalOut = optout === "optional";
    // The middle rung means "absence permitted, nothing supplied in its place", so an absent key contributes nothing — whatever the schema made of `undefined` is invented, not substituted. Only `optional` reaches this with a value: `defaulted` substitutes, and a schema that isn't optional-out has to keep the key.
    if (!isPresent && isOptionalOut && optin === "optional") {
        return;
    }
    if (result.issues.length) {
        // For optional-in/out schemas, ignore errors on absent keys.
        if (optin !== undefined && isOptionalOut && !isPresent) {
            return;
        }
        final.issues.push(...prefixIssues(key, result.issues));
    }
    if (!isPresent && optin === undefined) {
        if (!result.issues.length) {
            final.issues.push({
                code: "invalid_type",
                expected: "nonoptional",
                input: undefined,
                path: [key],
            });
        }
        return;
    }
    if (result.value === undefined) {
        if (isPresent || (optin === "defaulted" && !isOptionalOut)) {
            final.value[key] = undefined;
        }
    }
    else {
        final.value[key] = result.value;
    }
}
// one shared instance; a fresh [] per schema cost 56 bytes retained
const NO_SYMBOL_KEYS = [];
function normalizeDef(def) {
    const keys = Object.keys(def.shape);
    const ownSymbols = Object.getOwnPropertySymbols(def.shape);
    const symbolKeys = ownSymbols.length ? ownSymbols : NO_SYMBOL_KEYS;
    // aliases `keys` when there are no symbols, so a string-only shape keeps one array
    const allKeys = symbolKeys.length ? [...keys, ...symbolKeys] : keys;
    for (const k of allKeys) {
        if (!def.shape?.[k]?._zod?.traits?.has("$ZodType")) {
            throw new Error(`Invalid element at key "${String(k)}": expected a Zod schema`);
        }
    }
    const okeys = optionalKeys(def.shape);
    return {
        ...def,
        allKeys,
        symbolKeys,
        // string-only: handleCatchall matches it against `for...in`, which never yields a symbol
        keySet: new Set(keys),
        numKeys: keys.length,
        optionalKeys: new Set(okeys),
    };
}
function handleCatchall(proms, input, payload, ctx, def, inst, abortEarly) {
    const unrecognized = [];
    const keySet = def.keySet;
    const _catchall = def.catchall._zod;
    const t = _catchall.def.type;
    const optin = _catchall.optin;
    const optout = _catchall.optout;
    // starts at 0, not the current length: the shape phase already ran and may have aborted
    let seen = 0;
    for (const key in input) {
        if (abortEarly && payload.issues.length !== seen) {
            if (aborted(payload, seen))
                break;
            seen = payload.issues.length;
        }
        // Must precede the __proto__ branch: a declared key is not unrecognized, even though the shape loop deliberately strips __proto__ from the parsed output.
        if (keySet.has(key))
            continue;
        // Don't copy an undeclared __proto__ into the result; assignment to a plain {} would replace the result prototype. But in strict mode it is still an unknown key, so report it before skipping.
        if (key === "__proto__") {
            if (t === "never")
                unrecognized.push(key);
            continue;
        }
        if (t === "never") {
            unrecognized.push(key);
            continue;
        }
        const r = _catchall.run({ value: input[key], issues: [] }, ctx);
        if (r instanceof Promise) {
            proms.push(r.then((r) => handlePropertyResult(r, payload, key, input, optin, optout)));
        }
        else {
            handlePropertyResult(r, payload, key, input, optin, optout);
        }
    }
    if (unrecognized.length) {
        payload.issues.push({
            code: "unrecognized_keys",
            keys: unrecognized,
            input,
            inst,
            // Describes the shape of the input, not the validity of the parsed value, so it never aborts. The parse still fails; the schema's own checks just get to run first, and an enclosing intersection can reconcile the key against a sibling operand.
            continue: true,
        });
    }
    if (!proms.length)
        return payload;
    return Promise.all(proms).then(() => {
        return payload;
    });
}
const $ZodObject = /*@__PURE__*/ $constructor("$ZodObject", (inst, def) => {
    // requires cast because technically $ZodObject doesn't extend
    $ZodType.init(inst, def);
    const desc = Object.getOwnPropertyDescriptor(def, "shape");
    // a cloned def carries its source's accessor, which knows the shape it answers from; adopting that keeps the clone's keys readable without running it
    const sh = desc?.get ? desc.get.raw : (def.shape ?? {});
    if (sh) {
        // Freezes the shape on first read, so its getters resolve once and every later read sees the same schemas.
        const get = () => {
            const newSh = { ...sh };
            Object.defineProperty(def, "shape", { value: newSh });
            get.raw = newSh;
            return newSh;
        };
        get.raw = sh;
        Object.defineProperty(def, "shape", { get });
    }
    const _normalized = cached(() => normalizeDef(def));
    defineLazyInternal(inst, "propValues", (zod) => {
        const shape = zod.def.shape;
        const propValues = {};
        for (const key in shape) {
            const field = shape[key]._zod;
            if (field.values) {
                if (!Object.prototype.hasOwnProperty.call(propValues, key)) {
                    assignProp(propValues, key, new Set());
                }
                for (const v of field.values)
                    propValues[key].add(v);
                // An omittable slot reads back as undefined at a discriminator lookup, so it has to claim undefined: two options that can both omit the key are not discriminable on it.
                if (field.optin !== undefined)
                    propValues[key].add(undefined);
            }
        }
        return propValues;
    });
    const isObject = util_isObject;
    const catchall = def.catchall;
    let value;
    const memo = core_globalConfig.memoizer;
    memo?.attach(inst);
    inst._zod.parse = (payload, ctx) => {
        value ?? (value = _normalized.value);
        const input = payload.value;
        if (!isObject(input)) {
            payload.issues.push({
                expected: "object",
                code: "invalid_type",
                input,
                inst,
            });
            return payload;
        }
        payload.value = memo ? memo.alloc(inst, payload, {}, ctx) : {};
        const proms = [];
        const shape = value.shape;
        const abortEarly = ctx?.abortEarly;
        let seen = payload.issues.length;
        for (const key of value.allKeys) {
            if (abortEarly && payload.issues.length !== seen) {
                if (aborted(payload, seen))
                    break;
                seen = payload.issues.length;
            }
            if (key === "__proto__")
                continue;
            const el = shape[key];
            const optin = el._zod.optin;
            const optout = el._zod.optout;
            const r = el._zod.run({ value: input[key], issues: [] }, ctx);
            if (r instanceof Promise) {
                proms.push(r.then((r) => handlePropertyResult(r, payload, key, input, optin, optout)));
            }
            else {
                handlePropertyResult(r, payload, key, input, optin, optout);
            }
        }
        if (!catchall) {
            return proms.length ? Promise.all(proms).then(() => payload) : payload;
        }
        return handleCatchall(proms, input, payload, ctx, _normalized.value, inst, abortEarly === true);
    };
});
const $ZodObjectJIT = /*@__PURE__*/ (/* unused pure expression or super */ null && (core.$constructor("$ZodObjectJIT", (inst, def) => {
    // requires cast because technically $ZodObject doesn't extend
    $ZodObject.init(inst, def);
    const superParse = inst._zod.parse;
    const _normalized = util.cached(() => normalizeDef(def));
    const memo = core.globalConfig.memoizer;
    const generateFastpass = (shape) => {
        const normalized = _normalized.value;
        const syms = normalized.symbolKeys;
        // a symbol has no source literal, so it is read as `syms[i]` off the closed-over scope
        const doc = new Doc(["payload", "ctx"], { shape, inst, memo, syms });
        const parseStr = (k) => `shape[${k}]._zod.run({ value: input[${k}], issues: [] }, ctx)`;
        // prefixes in place, like util.prefixIssues. newResult must land before the early return: a catchall runs after this and would otherwise write onto the caller's input
        const prefixStr = (id, k) => `
          let ${id}_ab = false;
          for (let i = 0; i < ${id}.issues.length; i++) {
            const iss = ${id}.issues[i];
            iss.path = iss.path ? [${k}, ...iss.path] : [${k}];
            payload.issues.push(iss);
            if (iss.continue !== true) ${id}_ab = true;
          }
          if (${id}_ab && ctx && ctx.abortEarly) {
            payload.value = newResult;
            return payload;
          }`;
        doc.write(`const input = payload.value;`);
        const ids = Object.create(null);
        let counter = 0;
        for (const key of normalized.allKeys) {
            ids[key] = `key_${counter++}`;
        }
        // A: preserve key order {
        doc.write(memo ? `const newResult = memo.alloc(inst, payload, {}, ctx);` : `const newResult = {};`);
        for (const key of normalized.allKeys) {
            if (key === "__proto__")
                continue;
            const id = ids[key];
            const k = typeof key === "symbol" ? `syms[${syms.indexOf(key)}]` : util.esc(key);
            const isPresent = `${k} in input`;
            const schema = shape[key];
            const optin = schema?._zod?.optin;
            const isOptionalIn = optin !== undefined;
            const isOptionalOut = schema?._zod?.optout === "optional";
            doc.write(`const ${id} = ${parseStr(k)};`);
            if (isOptionalIn && isOptionalOut) {
                // For optional-in/out schemas, ignore errors on absent keys — and, like the interpreted path, drop the value produced alongside them. The middle rung goes further: it permits absence without supplying anything in its place, so an absent key contributes nothing at all.
                const assign = optin === "optional" ? `${id}_present` : `${id}.value !== undefined || ${id}_present`;
                doc.write(`
        const ${id}_present = ${isPresent};
        if (!${id}.issues.length || ${id}_present) {
          if (${id}.issues.length) {${prefixStr(id, k)}
          }

          if (${assign}) {
            newResult[${k}] = ${id}.value;
          }
        }

      `);
            }
            else if (!isOptionalIn) {
                doc.write(`
        const ${id}_present = ${isPresent};
        if (${id}.issues.length) {${prefixStr(id, k)}
        }
        if (!${id}_present && !${id}.issues.length) {
          payload.issues.push({
            code: "invalid_type",
            expected: "nonoptional",
            input: undefined,
            path: [${k}]
          });
          if (ctx && ctx.abortEarly) {
            payload.value = newResult;
            return payload;
          }
        }

        if (${id}_present) {
          newResult[${k}] = ${id}.value;
        }

      `);
            }
            else {
                doc.write(`
        if (${id}.issues.length) {${prefixStr(id, k)}
        }
      `);
                if (optin === "defaulted") {
                    doc.write(`newResult[${k}] = ${id}.value;`);
                }
                else {
                    doc.write(`
        if (${id}.value !== undefined || ${isPresent}) {
          newResult[${k}] = ${id}.value;
        }
      `);
                }
            }
        }
        doc.write(`payload.value = newResult;`);
        doc.write(`return payload;`);
        // closing `shape` in is what pays: turbofan specializes the parser against that one shape object, so every `shape[k]._zod.run` folds to a known callee. as a parameter it stays a generic load and measures 13% slower even with the forwarding frame gone
        return doc.compile();
    };
    let fastpass;
    const isObject = util.isObject;
    const jit = !core.globalConfig.jitless;
    const allowsEval = util.allowsEval;
    const fastEnabled = jit && allowsEval.value; // && !def.catchall;
    const catchall = def.catchall;
    let value;
    inst._zod.parse = (payload, ctx) => {
        value ?? (value = _normalized.value);
        const input = payload.value;
        if (!isObject(input)) {
            payload.issues.push({
                expected: "object",
                code: "invalid_type",
                input,
                inst,
            });
            return payload;
        }
        if (jit && fastEnabled && ctx?.async === false && ctx.jitless !== true) {
            // always synchronous
            if (!fastpass)
                fastpass = generateFastpass(def.shape);
            payload = fastpass(payload, ctx);
            if (!catchall)
                return payload;
            return handleCatchall([], input, payload, ctx, value, inst, ctx?.abortEarly === true);
        }
        return superParse(payload, ctx);
    };
})));
function handleUnionResults(results, final, inst, ctx) {
    for (const result of results) {
        if (result.issues.length === 0) {
            final.value = result.value;
            return final;
        }
    }
    const nonaborted = results.filter((r) => !util.aborted(r));
    if (nonaborted.length === 1) {
        final.value = nonaborted[0].value;
        return nonaborted[0];
    }
    final.issues.push({
        code: "invalid_union",
        input: final.value,
        inst,
        errors: results.map((result) => result.issues.map((iss) => util.finalizeIssue(iss, ctx, core.config()))),
    });
    return final;
}
const $ZodUnion = /*@__PURE__*/ (/* unused pure expression or super */ null && (core.$constructor("$ZodUnion", (inst, def) => {
    $ZodType.init(inst, def);
    util.defineLazyInternal(inst, "optin", (zod) => zod.def.options.some((o) => o._zod.optin === "defaulted")
        ? "defaulted"
        : zod.def.options.some((o) => o._zod.optin !== undefined)
            ? "optional"
            : undefined);
    util.defineLazyInternal(inst, "optout", (zod) => zod.def.options.some((o) => o._zod.optout === "optional") ? "optional" : undefined);
    util.defineLazyInternal(inst, "values", (zod) => {
        if (zod.def.options.every((o) => o._zod.values)) {
            return new Set(zod.def.options.flatMap((option) => Array.from(option._zod.values)));
        }
        return undefined;
    });
    util.defineLazyInternal(inst, "pattern", (zod) => {
        if (zod.def.options.every((o) => o._zod.pattern)) {
            const patterns = zod.def.options.map((o) => o._zod.pattern);
            return new RegExp(`^(${patterns.map((p) => util.cleanRegex(p.source)).join("|")})$`);
        }
        return undefined;
    });
    const first = def.options.length === 1 ? def.options[0]._zod.run : null;
    inst._zod.parse = (payload, ctx) => {
        if (first) {
            return first(payload, ctx);
        }
        let async = false;
        const results = [];
        for (const option of def.options) {
            const result = option._zod.run({
                value: payload.value,
                issues: [],
            }, ctx);
            if (result instanceof Promise) {
                results.push(result);
                async = true;
            }
            else {
                if (result.issues.length === 0)
                    return result;
                results.push(result);
            }
        }
        if (!async)
            return handleUnionResults(results, payload, inst, ctx);
        return Promise.all(results).then((results) => {
            return handleUnionResults(results, payload, inst, ctx);
        });
    };
})));
function handleExclusiveUnionResults(results, final, inst, ctx) {
    const matches = [];
    for (let i = 0; i < results.length; i++) {
        if (results[i].issues.length === 0)
            matches.push(i);
    }
    if (matches.length === 1) {
        final.value = results[matches[0]].value;
        return final;
    }
    if (matches.length === 0) {
        // No matches - same as regular union
        final.issues.push({
            code: "invalid_union",
            input: final.value,
            inst,
            errors: results.map((result) => result.issues.map((iss) => util.finalizeIssue(iss, ctx, core.config()))),
        });
    }
    else {
        // Multiple matches - exclusive union failure
        final.issues.push({
            code: "invalid_union",
            input: final.value,
            inst,
            errors: [],
            inclusive: false,
            matches,
        });
    }
    return final;
}
const $ZodXor = /*@__PURE__*/ (/* unused pure expression or super */ null && (core.$constructor("$ZodXor", (inst, def) => {
    $ZodUnion.init(inst, def);
    def.inclusive = false;
    const first = def.options.length === 1 ? def.options[0]._zod.run : null;
    inst._zod.parse = (payload, ctx) => {
        if (first) {
            return first(payload, ctx);
        }
        let async = false;
        const results = [];
        for (const option of def.options) {
            const result = option._zod.run({
                value: payload.value,
                issues: [],
            }, ctx);
            if (result instanceof Promise) {
                results.push(result);
                async = true;
            }
            else {
                results.push(result);
            }
        }
        if (!async)
            return handleExclusiveUnionResults(results, payload, inst, ctx);
        return Promise.all(results).then((results) => {
            return handleExclusiveUnionResults(results, payload, inst, ctx);
        });
    };
})));
/** Returns the option whose discriminator claims `value`, or throws if ambiguous. */
function getDiscriminatedOption(union, value) {
    const internals = union._zod;
    let map = internals.bag.optionsMap;
    if (!map) {
        map = discriminatorMap(internals.def);
        internals.bag.optionsMap = map;
    }
    const option = map.get(value);
    if (option === null)
        throw new Error(`Ambiguous discriminator value "${String(value)}"`);
    return option;
}
function discriminatorMap(def) {
    const map = new Map();
    for (const option of def.options) {
        const values = option._zod.propValues?.[def.discriminator];
        if (!values || values.size === 0)
            throw new Error(`Invalid discriminated union option at index "${def.options.indexOf(option)}"`);
        for (const value of values) {
            if (map.has(value)) {
                if (value !== undefined)
                    throw new Error(`Duplicate discriminator value "${String(value)}"`);
                // keep the collision marked so a later member cannot reclaim it
                map.set(value, null);
            }
            else {
                map.set(value, option);
            }
        }
    }
    return map;
}
const $ZodDiscriminatedUnion = 
/*@__PURE__*/
(/* unused pure expression or super */ null && (core.$constructor("$ZodDiscriminatedUnion", (inst, def) => {
    def.inclusive = false;
    $ZodUnion.init(inst, def);
    const _super = inst._zod.parse;
    util.defineLazyInternal(inst, "propValues", (zod) => {
        const propValues = {};
        let undefinedCount = 0;
        for (const option of zod.def.options) {
            const pv = option._zod.propValues;
            if (!pv || Object.keys(pv).length === 0)
                throw new Error(`Invalid discriminated union option at index "${zod.def.options.indexOf(option)}"`);
            if (pv[zod.def.discriminator]?.has(undefined))
                undefinedCount++;
            for (const [k, v] of Object.entries(pv)) {
                if (!Object.prototype.hasOwnProperty.call(propValues, k)) {
                    util.assignProp(propValues, k, new Set());
                }
                for (const val of v) {
                    propValues[k].add(val);
                }
            }
        }
        if (!zod.def.unionFallback && undefinedCount > 1)
            propValues[zod.def.discriminator]?.delete(undefined);
        return propValues;
    });
    // Checked now rather than in the lookup map below, so an option that lacks the discriminator fails at the `discriminatedUnion` call instead of on the first object parsed. Options whose shape cannot be enumerated without resolving it — pipes and lazies — are left to the map.
    def.options.forEach((option, i) => {
        const propShape = util.rawShape(option._zod.def);
        if (propShape && !Object.prototype.hasOwnProperty.call(propShape, def.discriminator)) {
            throw new Error(`Invalid discriminated union option at index "${i}"`);
        }
    });
    const disc = util.cached(() => discriminatorMap(def));
    inst._zod.parse = (payload, ctx) => {
        const input = payload.value;
        if (!util.isObject(input)) {
            payload.issues.push({
                code: "invalid_type",
                expected: "object",
                input,
                inst,
            });
            return payload;
        }
        const value = input?.[def.discriminator];
        const opt = disc.value.get(value);
        // forward metadata cannot choose an encoder for an absent tag
        if (opt && (value !== undefined || ctx.direction !== "backward")) {
            return opt._zod.run(payload, ctx);
        }
        // Fall back to union matching when the fast discriminator path fails:
        // - explicitly enabled via unionFallback, or
        // - during backward direction (encode), since codec-based discriminators have different values in forward vs backward directions
        if (def.unionFallback || ctx.direction === "backward") {
            return _super(payload, ctx);
        }
        // no matching discriminator
        payload.issues.push({
            code: "invalid_union",
            errors: [],
            note: "No matching discriminator",
            discriminator: def.discriminator,
            options: Array.from(disc.value.keys()).filter((value) => disc.value.get(value) !== null),
            input,
            path: [def.discriminator],
            inst,
        });
        return payload;
    };
})));
const $ZodIntersection = /*@__PURE__*/ (/* unused pure expression or super */ null && (core.$constructor("$ZodIntersection", (inst, def) => {
    $ZodType.init(inst, def);
    inst._zod.parse = (payload, ctx) => {
        const input = payload.value;
        const left = def.left._zod.run({ value: input, issues: [] }, ctx);
        const right = def.right._zod.run({ value: input, issues: [] }, ctx);
        const async = left instanceof Promise || right instanceof Promise;
        if (async) {
            return Promise.all([left, right]).then(([left, right]) => {
                return handleIntersectionResults(payload, left, right);
            });
        }
        return handleIntersectionResults(payload, left, right);
    };
})));
function mergeValues(a, b) {
    // const aType = parse.t(a);
    // const bType = parse.t(b);
    if (a === b) {
        return { valid: true, data: a };
    }
    if (a instanceof Date && b instanceof Date && +a === +b) {
        return { valid: true, data: a };
    }
    if (util.isPlainObject(a) && util.isPlainObject(b)) {
        const bKeys = Object.keys(b);
        const sharedKeys = Object.keys(a).filter((key) => bKeys.indexOf(key) !== -1);
        const newObj = { ...a, ...b };
        if (Object.prototype.hasOwnProperty.call(newObj, "__proto__"))
            delete newObj.__proto__;
        for (const key of sharedKeys) {
            if (key === "__proto__")
                continue;
            const sharedValue = mergeValues(a[key], b[key]);
            if (!sharedValue.valid) {
                return {
                    valid: false,
                    mergeErrorPath: [key, ...sharedValue.mergeErrorPath],
                };
            }
            newObj[key] = sharedValue.data;
        }
        return { valid: true, data: newObj };
    }
    if (Array.isArray(a) && Array.isArray(b)) {
        if (a.length !== b.length) {
            return { valid: false, mergeErrorPath: [] };
        }
        const newArray = [];
        for (let index = 0; index < a.length; index++) {
            const itemA = a[index];
            const itemB = b[index];
            const sharedValue = mergeValues(itemA, itemB);
            if (!sharedValue.valid) {
                return {
                    valid: false,
                    mergeErrorPath: [index, ...sharedValue.mergeErrorPath],
                };
            }
            newArray.push(sharedValue.data);
        }
        return { valid: true, data: newArray };
    }
    return { valid: false, mergeErrorPath: [] };
}
function handleIntersectionResults(result, left, right) {
    // Track which side(s) reject each key. A key rejection is reported only when BOTH sides reject it, so a key owned by one branch survives the other's key schema. strictObject reports these as unrecognized_keys; a record with an open key schema reports one invalid_key per key.
    const unrecKeys = new Map();
    let unrecIssue;
    const keyIssues = new Map();
    const collect = (iss, side) => {
        let keys;
        if (iss.code === "unrecognized_keys" && !iss.path?.length) {
            unrecIssue ?? (unrecIssue = iss);
            keys = iss.keys;
        }
        else if (iss.code === "invalid_key" && iss.origin === "record" && iss.path?.length === 1) {
            const k = String(iss.path[0]);
            if (!keyIssues.has(k))
                keyIssues.set(k, iss);
            keys = [k];
        }
        else {
            return false;
        }
        for (const k of keys) {
            if (!unrecKeys.has(k))
                unrecKeys.set(k, {});
            unrecKeys.get(k)[side] = true;
        }
        return true;
    };
    for (const iss of left.issues) {
        if (!collect(iss, "l"))
            result.issues.push(iss);
    }
    for (const iss of right.issues) {
        if (!collect(iss, "r"))
            result.issues.push(iss);
    }
    // Report only keys rejected by BOTH sides
    const bothKeys = [...unrecKeys].filter(([, f]) => f.l && f.r).map(([k]) => k);
    if (bothKeys.length) {
        const aggregated = unrecIssue ? bothKeys.filter((k) => unrecIssue.keys.includes(k)) : [];
        if (aggregated.length)
            result.issues.push({ ...unrecIssue, keys: aggregated });
        for (const k of bothKeys) {
            if (!aggregated.includes(k) && keyIssues.has(k))
                result.issues.push(keyIssues.get(k));
        }
    }
    const merged = mergeValues(left.value, right.value);
    if (!merged.valid) {
        if (util.aborted(result))
            return result;
        throw new Error(`Unmergable intersection. Error path: ` + `${JSON.stringify(merged.mergeErrorPath)}`);
    }
    result.value = merged.data;
    return result;
}
const $ZodTuple = /*@__PURE__*/ (/* unused pure expression or super */ null && (core.$constructor("$ZodTuple", (inst, def) => {
    $ZodType.init(inst, def);
    const items = def.items;
    const memo = core.globalConfig.memoizer;
    memo?.attach(inst);
    inst._zod.parse = (payload, ctx) => {
        const input = payload.value;
        if (!Array.isArray(input)) {
            payload.issues.push({
                input,
                inst,
                expected: "tuple",
                code: "invalid_type",
            });
            return payload;
        }
        payload.value = memo ? memo.alloc(inst, payload, [], ctx) : [];
        const proms = [];
        const optinStart = getTupleOptStart(items, "optin");
        const optoutStart = getTupleOptStart(items, "optout");
        if (!def.rest) {
            if (input.length < optinStart) {
                payload.issues.push({
                    code: "too_small",
                    minimum: optinStart,
                    inclusive: true,
                    input,
                    inst,
                    origin: "array",
                });
                return payload;
            }
            if (input.length > items.length) {
                payload.issues.push({
                    code: "too_big",
                    maximum: items.length,
                    inclusive: true,
                    input,
                    inst,
                    origin: "array",
                });
            }
        }
        // Run every item in parallel, collecting results into an indexed array. The post-processing in `handleTupleResults` walks them in order so it can decide whether an absent optional-output error can truncate the tail or must be reported to preserve required output.
        const itemResults = new Array(items.length);
        // only tracked when there is a rest loop to skip
        const abortEarly = def.rest ? ctx?.abortEarly : undefined;
        let itemAborted = false;
        for (let i = 0; i < items.length; i++) {
            const r = items[i]._zod.run({ value: input[i], issues: [] }, ctx);
            if (r instanceof Promise) {
                proms.push(r.then((rr) => {
                    itemResults[i] = rr;
                }));
            }
            else {
                itemResults[i] = r;
                if (abortEarly && !itemAborted && r.issues.length)
                    itemAborted = util.aborted(r);
            }
        }
        // sound because rest is non-empty exactly when every fixed index is present, the one case handleTupleResults cannot discard an item's issues
        if (def.rest && !itemAborted) {
            let i = items.length - 1;
            const rest = input.slice(items.length);
            let seen = payload.issues.length;
            for (const el of rest) {
                if (abortEarly && payload.issues.length !== seen) {
                    if (util.aborted(payload, seen))
                        break;
                    seen = payload.issues.length;
                }
                i++;
                const result = def.rest._zod.run({ value: el, issues: [] }, ctx);
                if (result instanceof Promise) {
                    proms.push(result.then((r) => handleTupleResult(r, payload, i)));
                }
                else {
                    handleTupleResult(result, payload, i);
                }
            }
        }
        if (proms.length) {
            return Promise.all(proms).then(() => handleTupleResults(itemResults, payload, items, input, optoutStart));
        }
        return handleTupleResults(itemResults, payload, items, input, optoutStart);
    };
})));
function getTupleOptStart(items, key) {
    for (let i = items.length - 1; i >= 0; i--) {
        // optin is a three-rung ladder so any rung above `undefined` permits an absent slot; optout stays two-valued.
        const omittable = key === "optin" ? items[i]._zod.optin !== undefined : items[i]._zod.optout === "optional";
        if (!omittable)
            return i + 1;
    }
    return 0;
}
function handleTupleResult(result, final, index) {
    if (result.issues.length) {
        final.issues.push(...util.prefixIssues(index, result.issues));
    }
    final.value[index] = result.value;
}
function handleTupleResults(itemResults, final, items, input, optoutStart) {
    // Walk results in order. Mirror $ZodObject's swallow-on-absent-optional rule, but only after `optoutStart`: the first index where the output tuple tail can be absent.
    for (let i = 0; i < items.length; i++) {
        const r = itemResults[i];
        const isPresent = i < input.length;
        // The array analog of `handlePropertyResult`'s absent-key early return: the middle rung permits absence without supplying anything in its place, so the tail truncates here instead of materializing whatever the item made of `undefined`.
        if (!isPresent && i >= optoutStart && items[i]._zod.optin === "optional") {
            final.value.length = i;
            break;
        }
        if (r.issues.length) {
            if (!isPresent && i >= optoutStart) {
                final.value.length = i;
                break;
            }
            final.issues.push(...util.prefixIssues(i, r.issues));
        }
        final.value[i] = r.value;
    }
    // Drop trailing slots that produced `undefined` for absent input
    // (the array analog of an absent optional key on an object). The
    // `i >= input.length` floor is critical: an explicit `undefined`
    // *inside* the input must be preserved even when the schema is
    // optional-out (e.g. `z.string().or(z.undefined())` accepting an
    // explicit undefined value).
    for (let i = final.value.length - 1; i >= input.length; i--) {
        if (items[i]._zod.optout === "optional" && final.value[i] === undefined) {
            final.value.length = i;
        }
        else {
            break;
        }
    }
    return final;
}
const $ZodRecord = /*@__PURE__*/ (/* unused pure expression or super */ null && (core.$constructor("$ZodRecord", (inst, def) => {
    $ZodType.init(inst, def);
    const memo = core.globalConfig.memoizer;
    memo?.attach(inst);
    inst._zod.parse = (payload, ctx) => {
        const input = payload.value;
        if (!util.isPlainObject(input)) {
            payload.issues.push({
                expected: "record",
                code: "invalid_type",
                input,
                inst,
            });
            return payload;
        }
        // no guard in either loop below: a record's invalid_key aborts but an enclosing intersection can reconcile it, so a stopped loop hides keys the sibling does not own and the intersection then rejects nothing
        const proms = [];
        const values = def.keyType._zod.values;
        if (values && !def.partial) {
            payload.value = memo ? memo.alloc(inst, payload, {}, ctx) : {};
            const recordKeys = new Set();
            for (const key of values) {
                if (typeof key === "string" || typeof key === "number" || typeof key === "symbol") {
                    recordKeys.add(typeof key === "number" ? key.toString() : key);
                    // A declared __proto__ is stripped but is not an unrecognized key.
                    if (key === "__proto__")
                        continue;
                    const keyResult = def.keyType._zod.run({ value: key, issues: [] }, ctx);
                    if (keyResult instanceof Promise) {
                        throw new Error("Async schemas not supported in object keys currently");
                    }
                    if (keyResult.issues.length) {
                        payload.issues.push({
                            code: "invalid_key",
                            origin: "record",
                            issues: keyResult.issues.map((iss) => util.finalizeIssue(iss, ctx, core.config())),
                            input: key,
                            path: [key],
                            inst,
                        });
                        continue;
                    }
                    const outKey = keyResult.value;
                    if (outKey === "__proto__")
                        continue;
                    const result = def.valueType._zod.run({ value: input[key], issues: [] }, ctx);
                    if (result instanceof Promise) {
                        proms.push(result.then((result) => {
                            if (result.issues.length) {
                                payload.issues.push(...util.prefixIssues(key, result.issues));
                            }
                            payload.value[outKey] = result.value;
                        }));
                    }
                    else {
                        if (result.issues.length) {
                            payload.issues.push(...util.prefixIssues(key, result.issues));
                        }
                        payload.value[outKey] = result.value;
                    }
                }
            }
            let unrecognized;
            for (const key in input) {
                if (!recordKeys.has(key)) {
                    if (def.mode === "loose") {
                        // skip __proto__ so it can't replace the result prototype via the assignment setter on the plain {} we build into
                        if (key === "__proto__")
                            continue;
                        payload.value[key] = input[key];
                    }
                    else {
                        unrecognized = unrecognized ?? [];
                        unrecognized.push(key);
                    }
                }
            }
            if (unrecognized && unrecognized.length > 0) {
                payload.issues.push({
                    code: "unrecognized_keys",
                    input,
                    inst,
                    keys: unrecognized,
                    continue: true,
                });
            }
        }
        else {
            payload.value = memo ? memo.alloc(inst, payload, {}, ctx) : {};
            // An enumerable key schema declares which keys the record owns, so a key outside the set is unrecognized. A non-enumerable one (regex, refine) is a constraint every key must satisfy, so a failing key is invalid. Only the former is reconcilable against the other side of an intersection.
            let unrecognized;
            // Reflect.ownKeys for Symbol-key support; filter non-enumerable to match z.object()
            for (const key of Reflect.ownKeys(input)) {
                if (key === "__proto__")
                    continue;
                if (!Object.prototype.propertyIsEnumerable.call(input, key))
                    continue;
                let keyResult = def.keyType._zod.run({ value: key, issues: [] }, ctx);
                if (keyResult instanceof Promise) {
                    throw new Error("Async schemas not supported in object keys currently");
                }
                // Numeric string fallback: if key is a numeric string and failed, retry with Number(key). This handles z.number(), z.literal([1, 2, 3]), and unions containing numeric literals
                const checkNumericKey = typeof key === "string" && regexes.number.test(key) && keyResult.issues.length;
                if (checkNumericKey) {
                    const retryResult = def.keyType._zod.run({ value: Number(key), issues: [] }, ctx);
                    if (retryResult instanceof Promise) {
                        throw new Error("Async schemas not supported in object keys currently");
                    }
                    if (retryResult.issues.length === 0) {
                        keyResult = retryResult;
                    }
                }
                if (keyResult.issues.length) {
                    if (def.mode === "loose") {
                        // Pass through unchanged
                        payload.value[key] = input[key];
                    }
                    else if (values) {
                        unrecognized = unrecognized ?? [];
                        unrecognized.push(key);
                    }
                    else {
                        // Default "strict" behavior: error on invalid key
                        payload.issues.push({
                            code: "invalid_key",
                            origin: "record",
                            issues: keyResult.issues.map((iss) => util.finalizeIssue(iss, ctx, core.config())),
                            input: key,
                            path: [key],
                            inst,
                        });
                    }
                    continue;
                }
                // the guard above tests the raw input key, but the key schema can normalize an ordinary key into __proto__; re-check the key we actually write under
                const outKey = keyResult.value;
                if (outKey === "__proto__")
                    continue;
                const result = def.valueType._zod.run({ value: input[key], issues: [] }, ctx);
                if (result instanceof Promise) {
                    proms.push(result.then((result) => {
                        if (result.issues.length) {
                            payload.issues.push(...util.prefixIssues(key, result.issues));
                        }
                        payload.value[outKey] = result.value;
                    }));
                }
                else {
                    if (result.issues.length) {
                        payload.issues.push(...util.prefixIssues(key, result.issues));
                    }
                    payload.value[outKey] = result.value;
                }
            }
            if (unrecognized && unrecognized.length > 0) {
                payload.issues.push({
                    code: "unrecognized_keys",
                    input,
                    inst,
                    keys: unrecognized,
                    continue: true,
                });
            }
        }
        if (proms.length) {
            return Promise.all(proms).then(() => payload);
        }
        return payload;
    };
})));
const $ZodMap = /*@__PURE__*/ (/* unused pure expression or super */ null && (core.$constructor("$ZodMap", (inst, def) => {
    $ZodType.init(inst, def);
    const memo = core.globalConfig.memoizer;
    memo?.attach(inst);
    inst._zod.parse = (payload, ctx) => {
        const input = payload.value;
        if (!(input instanceof Map)) {
            payload.issues.push({
                expected: "map",
                code: "invalid_type",
                input,
                inst,
            });
            return payload;
        }
        const proms = [];
        payload.value = memo ? memo.alloc(inst, payload, new Map(), ctx) : new Map();
        const abortEarly = ctx?.abortEarly;
        let seen = payload.issues.length;
        for (const [key, value] of input) {
            if (abortEarly && payload.issues.length !== seen) {
                if (util.aborted(payload, seen))
                    break;
                seen = payload.issues.length;
            }
            const keyResult = def.keyType._zod.run({ value: key, issues: [] }, ctx);
            const valueResult = def.valueType._zod.run({ value: value, issues: [] }, ctx);
            if (keyResult instanceof Promise || valueResult instanceof Promise) {
                proms.push(Promise.all([keyResult, valueResult]).then(([keyResult, valueResult]) => {
                    handleMapResult(keyResult, valueResult, payload, key, input, inst, ctx);
                }));
            }
            else {
                handleMapResult(keyResult, valueResult, payload, key, input, inst, ctx);
            }
        }
        if (proms.length)
            return Promise.all(proms).then(() => payload);
        return payload;
    };
    capSize(inst, mapSize);
})));
function handleMapResult(keyResult, valueResult, final, key, input, inst, ctx) {
    if (keyResult.issues.length) {
        if (util.propertyKeyTypes.has(typeof key)) {
            final.issues.push(...util.prefixIssues(key, keyResult.issues));
        }
        else {
            final.issues.push({
                code: "invalid_key",
                origin: "map",
                input,
                inst,
                issues: keyResult.issues.map((iss) => util.finalizeIssue(iss, ctx, core.config())),
            });
        }
    }
    if (valueResult.issues.length) {
        if (util.propertyKeyTypes.has(typeof key)) {
            final.issues.push(...util.prefixIssues(key, valueResult.issues));
        }
        else {
            final.issues.push({
                origin: "map",
                code: "invalid_element",
                input,
                inst,
                key: key,
                issues: valueResult.issues.map((iss) => util.finalizeIssue(iss, ctx, core.config())),
            });
        }
    }
    final.value.set(keyResult.value, valueResult.value);
}
const $ZodSet = /*@__PURE__*/ (/* unused pure expression or super */ null && (core.$constructor("$ZodSet", (inst, def) => {
    $ZodType.init(inst, def);
    const memo = core.globalConfig.memoizer;
    memo?.attach(inst);
    inst._zod.parse = (payload, ctx) => {
        const input = payload.value;
        if (!(input instanceof Set)) {
            payload.issues.push({
                input,
                inst,
                expected: "set",
                code: "invalid_type",
            });
            return payload;
        }
        const proms = [];
        payload.value = memo ? memo.alloc(inst, payload, new Set(), ctx) : new Set();
        const abortEarly = ctx?.abortEarly;
        let seen = payload.issues.length;
        for (const item of input) {
            if (abortEarly && payload.issues.length !== seen) {
                if (util.aborted(payload, seen))
                    break;
                seen = payload.issues.length;
            }
            const result = def.valueType._zod.run({ value: item, issues: [] }, ctx);
            if (result instanceof Promise) {
                proms.push(result.then((result) => handleSetResult(result, payload)));
            }
            else
                handleSetResult(result, payload);
        }
        if (proms.length)
            return Promise.all(proms).then(() => payload);
        return payload;
    };
    capSize(inst, setSize);
})));
function handleSetResult(result, final) {
    if (result.issues.length) {
        final.issues.push(...result.issues);
    }
    final.value.add(result.value);
}
const $ZodEnum = /*@__PURE__*/ $constructor("$ZodEnum", (inst, def) => {
    $ZodType.init(inst, def);
    const values = getEnumValues(def.entries);
    const valuesSet = new Set(values);
    inst._zod.values = valuesSet;
    defineLazyInternal(inst, "pattern", (zod) => {
        const patternValues = getEnumValues(zod.def.entries).filter((k) => propertyKeyTypes.has(typeof k));
        // unmatchable fallback, RE2-safe: an empty alternation would compile to /^()$/, which matches ""
        return new RegExp(patternValues.length ? `^(${patternValues.map((o) => escapeRegex(o.toString())).join("|")})$` : "^[^\\s\\S]$");
    });
    inst._zod.parse = (payload, _ctx) => {
        const input = payload.value;
        if (valuesSet.has(input)) {
            return payload;
        }
        payload.issues.push({
            code: "invalid_value",
            values,
            input,
            inst,
        });
        return payload;
    };
});
const $ZodLiteral = /*@__PURE__*/ (/* unused pure expression or super */ null && (core.$constructor("$ZodLiteral", (inst, def) => {
    $ZodType.init(inst, def);
    const values = new Set(def.values);
    inst._zod.values = values;
    util.defineLazyInternal(inst, "pattern", (zod) => {
        const vals = zod.def.values;
        // unmatchable fallback, RE2-safe: an empty alternation would compile to /^()$/, which matches ""
        return new RegExp(vals.length
            ? `^(${vals
                .map((o) => typeof o === "string" ? util.escapeRegex(o) : o ? util.escapeRegex(o.toString()) : String(o))
                .join("|")})$`
            : "^[^\\s\\S]$");
    });
    inst._zod.parse = (payload, _ctx) => {
        const input = payload.value;
        if (values.has(input)) {
            return payload;
        }
        payload.issues.push({
            code: "invalid_value",
            values: def.values,
            input,
            inst,
        });
        return payload;
    };
})));
const $ZodFile = /*@__PURE__*/ (/* unused pure expression or super */ null && (core.$constructor("$ZodFile", (inst, def) => {
    $ZodType.init(inst, def);
    inst._zod.parse = (payload, _ctx) => {
        const input = payload.value;
        // @ts-ignore
        if (input instanceof File)
            return payload;
        payload.issues.push({
            expected: "file",
            code: "invalid_type",
            input,
            inst,
        });
        return payload;
    };
})));
const $ZodTransform = /*@__PURE__*/ $constructor("$ZodTransform", (inst, def) => {
    $ZodType.init(inst, def);
    inst._zod.optin = "optional";
    core_globalConfig.memoizer?.guard(inst);
    inst._zod.parse = (payload, ctx) => {
        if (ctx.direction === "backward") {
            throw new $ZodEncodeError(inst.constructor.name);
        }
        const _out = def.transform(payload.value, payload);
        if (ctx.async) {
            const output = _out instanceof Promise ? _out : Promise.resolve(_out);
            return output.then((output) => {
                payload.value = output;
                return payload;
            });
        }
        if (_out instanceof Promise) {
            throw new $ZodAsyncError();
        }
        payload.value = _out;
        return payload;
    };
});
function handleOptionalResult(payload, result) {
    // A substituting schema that still failed has no usable answer; yield undefined. Its issues are simply dropped: it ran on a payload of its own, so there is no shared array to truncate and nothing of the caller's to lose with it.
    payload.value = result.issues.length ? undefined : result.value;
    return payload;
}
const $ZodOptional = /*@__PURE__*/ $constructor("$ZodOptional", (inst, def) => {
    $ZodType.init(inst, def);
    // .optional() propagates absence rather than substituting for it, so a defaulted inner keeps its rung.
    defineLazyInternal(inst, "optin", (zod) => zod.def.innerType._zod.optin === "defaulted" ? "defaulted" : "optional");
    inst._zod.optout = "optional";
    defineLazyInternal(inst, "values", (zod) => {
        const values = zod.def.innerType._zod.values;
        return values ? new Set([...values, undefined]) : undefined;
    });
    defineLazyInternal(inst, "pattern", (zod) => {
        const pattern = zod.def.innerType._zod.pattern;
        return pattern ? new RegExp(`^(${cleanRegex(pattern.source)})?$`) : undefined;
    });
    inst._zod.parse = (payload, ctx) => {
        if (payload.value === undefined) {
            // Only the top rung substitutes a value for absence; everything else leaves it intact, which is what .optional() means.
            if (def.innerType._zod.optin !== "defaulted")
                return payload;
            // Its own payload, for the same reason $ZodCatch gets one: a pipe forwards an unrecognized key through the caller's issues array, and this must not read that as the substituting schema failing and drop it.
            const result = def.innerType._zod.run({ value: payload.value, issues: [] }, ctx);
            if (result instanceof Promise)
                return result.then((result) => handleOptionalResult(payload, result));
            return handleOptionalResult(payload, result);
        }
        return def.innerType._zod.run(payload, ctx);
    };
});
const $ZodExactOptional = /*@__PURE__*/ (/* unused pure expression or super */ null && (core.$constructor("$ZodExactOptional", (inst, def) => {
    // Call parent init - inherits optin/optout = "optional"
    $ZodOptional.init(inst, def);
    // Override values/pattern to NOT add undefined
    util.defineLazyInternal(inst, "values", (zod) => zod.def.innerType._zod.values);
    util.defineLazyInternal(inst, "pattern", (zod) => zod.def.innerType._zod.pattern);
    // Override parse to just delegate (no undefined handling)
    inst._zod.parse = (payload, ctx) => {
        return def.innerType._zod.run(payload, ctx);
    };
})));
const $ZodNullable = /*@__PURE__*/ (/* unused pure expression or super */ null && (core.$constructor("$ZodNullable", (inst, def) => {
    $ZodType.init(inst, def);
    util.defineLazyInternal(inst, "optin", (zod) => zod.def.innerType._zod.optin);
    util.defineLazyInternal(inst, "optout", (zod) => zod.def.innerType._zod.optout);
    util.defineLazyInternal(inst, "pattern", (zod) => {
        const pattern = zod.def.innerType._zod.pattern;
        return pattern ? new RegExp(`^(${util.cleanRegex(pattern.source)}|null)$`) : undefined;
    });
    util.defineLazyInternal(inst, "values", (zod) => {
        return zod.def.innerType._zod.values ? new Set([...zod.def.innerType._zod.values, null]) : undefined;
    });
    inst._zod.parse = (payload, ctx) => {
        // Forward direction (decode): allow null to pass through
        if (payload.value === null)
            return payload;
        return def.innerType._zod.run(payload, ctx);
    };
})));
const $ZodDefault = /*@__PURE__*/ $constructor("$ZodDefault", (inst, def) => {
    $ZodType.init(inst, def);
    // inst._zod.qin = "true";
    inst._zod.optin = "defaulted";
    defineLazyInternal(inst, "values", (zod) => zod.def.innerType._zod.values);
    inst._zod.parse = (payload, ctx) => {
        if (ctx.direction === "backward") {
            return def.innerType._zod.run(payload, ctx);
        }
        // Forward direction (decode): apply defaults for undefined input
        if (payload.value === undefined) {
            payload.value = def.defaultValue;
            /**
             * $ZodDefault returns the default value immediately in forward direction.
             * It doesn't pass the default value into the validator ("prefault"). There's no reason to pass the default value through validation. The validity of the default is enforced by TypeScript statically. Otherwise, it's the responsibility of the user to ensure the default is valid. In the case of pipes with divergent in/out types, you can specify the default on the `in` schema of your ZodPipe to set a "prefault" for the pipe.   */
            return payload;
        }
        // Forward direction: continue with default handling
        const result = def.innerType._zod.run(payload, ctx);
        if (result instanceof Promise) {
            return result.then((result) => handleDefaultResult(result, def));
        }
        return handleDefaultResult(result, def);
    };
});
function handleDefaultResult(payload, def) {
    if (payload.value === undefined) {
        payload.value = def.defaultValue;
    }
    return payload;
}
const $ZodPrefault = /*@__PURE__*/ (/* unused pure expression or super */ null && (core.$constructor("$ZodPrefault", (inst, def) => {
    $ZodType.init(inst, def);
    inst._zod.optin = "defaulted";
    util.defineLazyInternal(inst, "values", (zod) => zod.def.innerType._zod.values);
    inst._zod.parse = (payload, ctx) => {
        if (ctx.direction === "backward") {
            return def.innerType._zod.run(payload, ctx);
        }
        // Forward direction (decode): apply prefault for undefined input
        if (payload.value === undefined) {
            payload.value = def.defaultValue;
        }
        return def.innerType._zod.run(payload, ctx);
    };
})));
const $ZodNonOptional = /*@__PURE__*/ (/* unused pure expression or super */ null && (core.$constructor("$ZodNonOptional", (inst, def) => {
    $ZodType.init(inst, def);
    util.defineLazyInternal(inst, "values", (zod) => {
        const v = zod.def.innerType._zod.values;
        return v ? new Set([...v].filter((x) => x !== undefined)) : undefined;
    });
    inst._zod.parse = (payload, ctx) => {
        const result = def.innerType._zod.run(payload, ctx);
        if (result instanceof Promise) {
            return result.then((result) => handleNonOptionalResult(result, inst));
        }
        return handleNonOptionalResult(result, inst);
    };
})));
function handleNonOptionalResult(payload, inst) {
    if (!payload.issues.length && payload.value === undefined) {
        payload.issues.push({
            code: "invalid_type",
            expected: "nonoptional",
            input: payload.value,
            inst,
        });
    }
    return payload;
}
const $ZodSuccess = /*@__PURE__*/ (/* unused pure expression or super */ null && (core.$constructor("$ZodSuccess", (inst, def) => {
    $ZodType.init(inst, def);
    inst._zod.parse = (payload, ctx) => {
        if (ctx.direction === "backward") {
            throw new core.$ZodEncodeError("ZodSuccess");
        }
        const result = def.innerType._zod.run(payload, ctx);
        if (result instanceof Promise) {
            return result.then((result) => {
                payload.value = result.issues.length === 0;
                return payload;
            });
        }
        payload.value = result.issues.length === 0;
        return payload;
    };
})));
function handleCatchResult(payload, result, def, ctx) {
    if (!result.issues.length) {
        payload.value = result.value;
        // The value carries up, so the flag describing it has to carry with it: a back-edge into a node still being parsed must not be frozen by an enclosing readonly, and its checks belong to the node itself. Guarded so the ordinary case adds no own property.
        if (result.memo)
            payload.memo = true;
        return payload;
    }
    // Spread the inner's own payload, not ours: `value` has to stay the input the catch was handed, and the inner ran on a payload of its own so its issues are already private to this call.
    payload.value = def.catchValue({
        ...result,
        value: payload.value,
        error: {
            issues: result.issues.map((iss) => util.finalizeIssue(iss, ctx, core.config())),
        },
        input: payload.value,
    });
    return payload;
}
const $ZodCatch = /*@__PURE__*/ (/* unused pure expression or super */ null && (core.$constructor("$ZodCatch", (inst, def) => {
    $ZodType.init(inst, def);
    util.defineLazyInternal(inst, "optin", (zod) => zod.def.innerType._zod.optin === "defaulted" ? "defaulted" : "optional");
    util.defineLazyInternal(inst, "optout", (zod) => zod.def.innerType._zod.optout);
    util.defineLazyInternal(inst, "values", (zod) => zod.def.innerType._zod.values);
    inst._zod.parse = (payload, ctx) => {
        if (ctx.direction === "backward") {
            return def.innerType._zod.run(payload, ctx);
        }
        // Forward direction (decode): apply catch logic
        const result = def.innerType._zod.run({ value: payload.value, issues: [] }, ctx);
        if (result instanceof Promise) {
            return result.then((result) => handleCatchResult(payload, result, def, ctx));
        }
        return handleCatchResult(payload, result, def, ctx);
    };
})));
const $ZodNaN = /*@__PURE__*/ (/* unused pure expression or super */ null && (core.$constructor("$ZodNaN", (inst, def) => {
    $ZodType.init(inst, def);
    inst._zod.parse = (payload, _ctx) => {
        if (typeof payload.value !== "number" || !Number.isNaN(payload.value)) {
            payload.issues.push({
                input: payload.value,
                inst,
                expected: "nan",
                code: "invalid_type",
            });
            return payload;
        }
        return payload;
    };
})));
const $ZodPipe = /*@__PURE__*/ $constructor("$ZodPipe", (inst, def) => {
    $ZodType.init(inst, def);
    defineLazyInternal(inst, "values", (zod) => zod.def.in._zod.values);
    defineLazyInternal(inst, "optin", (zod) => zod.def.in._zod.optin);
    defineLazyInternal(inst, "optout", (zod) => zod.def.out._zod.optout);
    defineLazyInternal(inst, "propValues", (zod) => zod.def.in._zod.propValues);
    inst._zod.parse = (payload, ctx) => {
        if (ctx.direction === "backward") {
            const right = def.out._zod.run(payload, ctx);
            if (right instanceof Promise) {
                return right.then((right) => handlePipeResult(right, def.in, ctx));
            }
            return handlePipeResult(right, def.in, ctx);
        }
        const left = def.in._zod.run(payload, ctx);
        if (left instanceof Promise) {
            return left.then((left) => handlePipeResult(left, def.out, ctx));
        }
        return handlePipeResult(left, def.out, ctx);
    };
});
function handlePipeResult(left, next, ctx) {
    // Any issue stops the pipe, so a failing refinement never feeds its transform. An unrecognized key is the exception: it describes the input's extra properties, not the value being piped, and an enclosing intersection may yet reconcile it.
    if (left.issues.some((iss) => iss.code !== "unrecognized_keys")) {
        // prevent further checks
        left.aborted = true;
        return left;
    }
    return next._zod.run({ value: left.value, issues: left.issues }, ctx);
}
const $ZodCodec = /*@__PURE__*/ (/* unused pure expression or super */ null && (core.$constructor("$ZodCodec", (inst, def) => {
    $ZodType.init(inst, def);
    util.defineLazyInternal(inst, "values", (zod) => zod.def.in._zod.values);
    util.defineLazyInternal(inst, "optin", (zod) => zod.def.in._zod.optin);
    util.defineLazyInternal(inst, "optout", (zod) => zod.def.out._zod.optout);
    util.defineLazyInternal(inst, "propValues", (zod) => zod.def.in._zod.propValues);
    inst._zod.parse = (payload, ctx) => {
        const direction = ctx.direction || "forward";
        if (direction === "forward") {
            const left = def.in._zod.run(payload, ctx);
            if (left instanceof Promise) {
                return left.then((left) => handleCodecAResult(left, def, ctx));
            }
            return handleCodecAResult(left, def, ctx);
        }
        else {
            const right = def.out._zod.run(payload, ctx);
            if (right instanceof Promise) {
                return right.then((right) => handleCodecAResult(right, def, ctx));
            }
            return handleCodecAResult(right, def, ctx);
        }
    };
})));
function handleCodecAResult(result, def, ctx) {
    if (result.issues.length) {
        // prevent further checks
        result.aborted = true;
        return result;
    }
    const direction = ctx.direction || "forward";
    if (direction === "forward") {
        const transformed = def.transform(result.value, result);
        if (transformed instanceof Promise) {
            return transformed.then((value) => handleCodecTxResult(result, value, def.out, ctx));
        }
        return handleCodecTxResult(result, transformed, def.out, ctx);
    }
    else {
        const transformed = def.reverseTransform(result.value, result);
        if (transformed instanceof Promise) {
            return transformed.then((value) => handleCodecTxResult(result, value, def.in, ctx));
        }
        return handleCodecTxResult(result, transformed, def.in, ctx);
    }
}
function handleCodecTxResult(left, value, nextSchema, ctx) {
    // Check if transform added any issues
    if (left.issues.length) {
        left.aborted = true;
        return left;
    }
    return nextSchema._zod.run({ value, issues: left.issues }, ctx);
}
const $ZodPreprocess = /*@__PURE__*/ (/* unused pure expression or super */ null && (core.$constructor("$ZodPreprocess", (inst, def) => {
    $ZodPipe.init(inst, def);
})));
const $ZodReadonly = /*@__PURE__*/ (/* unused pure expression or super */ null && (core.$constructor("$ZodReadonly", (inst, def) => {
    $ZodType.init(inst, def);
    util.defineLazyInternal(inst, "propValues", (zod) => zod.def.innerType._zod.propValues);
    util.defineLazyInternal(inst, "values", (zod) => zod.def.innerType._zod.values);
    util.defineLazyInternal(inst, "optin", (zod) => zod.def.innerType?._zod?.optin);
    util.defineLazyInternal(inst, "optout", (zod) => zod.def.innerType?._zod?.optout);
    inst._zod.parse = (payload, ctx) => {
        if (ctx.direction === "backward") {
            return def.innerType._zod.run(payload, ctx);
        }
        const result = def.innerType._zod.run(payload, ctx);
        if (result instanceof Promise) {
            return result.then(handleReadonlyResult);
        }
        return handleReadonlyResult(result);
    };
})));
function handleReadonlyResult(payload) {
    // A repeat visit hands back a node that is still being built; freezing it here would make the rest of its keys fail to assign.
    if (!payload.memo)
        payload.value = Object.freeze(payload.value);
    return payload;
}
// a leaf's pattern source with its own checks folded in: the last pattern-carrying check wins, else length bounds narrow the catch-all, else an integer format narrows the number form. the fold lives here instead of on `_zod.pattern` so a bundle without template literals never pays for it
function leafPattern(schema) {
    const def = schema._zod.def;
    let pattern = def.pattern;
    let isInt = !!def.format?.includes("int");
    let minimum;
    let maximum;
    for (const ch of def.checks ?? []) {
        const d = ch._zod.def;
        if (d.pattern)
            pattern = d.pattern;
        isInt || (isInt = !!d.format?.includes("int"));
        const lo = d.minimum ?? d.length;
        const hi = d.maximum ?? d.length;
        if (lo !== undefined && (minimum === undefined || lo > minimum))
            minimum = lo;
        if (hi !== undefined && (maximum === undefined || hi < maximum))
            maximum = hi;
    }
    if (pattern)
        return pattern.source;
    // an empty range matches nothing at runtime, and `{8,5}` is not a legal quantifier
    if (minimum !== undefined && maximum !== undefined && minimum > maximum)
        return "(?!)";
    if (minimum !== undefined || maximum !== undefined)
        return regexes.string({ minimum, maximum }).source;
    const own = schema._zod.pattern;
    return (isInt && own === regexes.number ? regexes.integer : own)?.source;
}
// a part's pattern source. a wrapper's pattern embeds its inner pattern's source verbatim, so the folded form is substituted in place without knowing the wrapper's own composition; a union's options are joined the way the union builds its own pattern
function partPattern(schema) {
    const def = schema._zod.def;
    const own = schema._zod.pattern?.source;
    // lazy resolves its inner on the internals, not the def
    const inner = def.innerType ?? schema._zod.innerType;
    if (inner) {
        const before = inner._zod.pattern?.source;
        const after = partPattern(inner);
        if (own && before && after && after !== before) {
            return own.replace(util.cleanRegex(before), () => util.cleanRegex(after));
        }
        return own;
    }
    if (def.options) {
        const sources = def.options.map(partPattern);
        if (sources.every(Boolean))
            return `^(${sources.map((s) => util.cleanRegex(s)).join("|")})$`;
    }
    return leafPattern(schema);
}
const $ZodTemplateLiteral = /*@__PURE__*/ (/* unused pure expression or super */ null && (core.$constructor("$ZodTemplateLiteral", (inst, def) => {
    $ZodType.init(inst, def);
    const regexParts = [];
    for (const part of def.parts) {
        if (typeof part === "object" && part !== null) {
            // is Zod schema
            const source = partPattern(part);
            if (!source) {
                throw new Error(`Invalid template literal part, no pattern found: ${[...part._zod.traits].shift()}`);
            }
            regexParts.push(util.cleanRegex(source));
        }
        else if (part === null || util.primitiveTypes.has(typeof part)) {
            regexParts.push(util.escapeRegex(`${part}`));
        }
        else {
            throw new Error(`Invalid template literal part: ${part}`);
        }
    }
    inst._zod.pattern = new RegExp(`^${regexParts.join("")}$`);
    inst._zod.parse = (payload, _ctx) => {
        if (typeof payload.value !== "string") {
            payload.issues.push({
                input: payload.value,
                inst,
                expected: "string",
                code: "invalid_type",
            });
            return payload;
        }
        inst._zod.pattern.lastIndex = 0;
        if (!inst._zod.pattern.test(payload.value)) {
            payload.issues.push({
                input: payload.value,
                inst,
                code: "invalid_format",
                format: def.format ?? "template_literal",
                pattern: inst._zod.pattern.source,
            });
            return payload;
        }
        return payload;
    };
})));
const $ZodFunction = /*@__PURE__*/ (/* unused pure expression or super */ null && (core.$constructor("$ZodFunction", (inst, def) => {
    $ZodType.init(inst, def);
    // Defined, not assigned: the classic prototype exposes `_def` as a getter with no setter.
    Object.defineProperty(inst, "_def", { value: def });
    inst._zod.def = def;
    inst.implement = (func) => {
        if (typeof func !== "function") {
            throw new Error("implement() must be called with a function");
        }
        // Defined inline so the closure stays anonymous: binding it to a `const` first names it, which costs 256 bytes per implemented function.
        return Object.defineProperty(function (...args) {
            const parsedArgs = inst._def.input ? parse(inst._def.input, args) : args;
            const result = Reflect.apply(func, this, parsedArgs);
            if (inst._def.output) {
                return parse(inst._def.output, result);
            }
            return result;
        }, "_zod", { value: inst._zod, enumerable: false });
    };
    inst.implementAsync = (func) => {
        if (typeof func !== "function") {
            throw new Error("implementAsync() must be called with a function");
        }
        return Object.defineProperty(async function (...args) {
            const parsedArgs = inst._def.input ? await parseAsync(inst._def.input, args) : args;
            const result = await Reflect.apply(func, this, parsedArgs);
            if (inst._def.output) {
                return await parseAsync(inst._def.output, result);
            }
            return result;
        }, "_zod", { value: inst._zod, enumerable: false });
    };
    inst._zod.parse = (payload, _ctx) => {
        if (typeof payload.value !== "function") {
            payload.issues.push({
                code: "invalid_type",
                expected: "function",
                input: payload.value,
                inst,
            });
            return payload;
        }
        // Check if output is a promise type to determine if we should use async implementation
        const hasPromiseOutput = inst._def.output && inst._def.output._zod.def.type === "promise";
        if (hasPromiseOutput) {
            payload.value = inst.implementAsync(payload.value);
        }
        else {
            payload.value = inst.implement(payload.value);
        }
        return payload;
    };
    inst.input = (...args) => {
        const F = inst.constructor;
        if (Array.isArray(args[0])) {
            return new F({
                type: "function",
                input: new $ZodTuple({
                    type: "tuple",
                    items: args[0],
                    rest: args[1],
                }),
                output: inst._def.output,
            });
        }
        return new F({
            type: "function",
            input: args[0],
            output: inst._def.output,
        });
    };
    inst.output = (output) => {
        const F = inst.constructor;
        return new F({
            type: "function",
            input: inst._def.input,
            output,
        });
    };
    return inst;
})));
const $ZodPromise = /*@__PURE__*/ (/* unused pure expression or super */ null && (core.$constructor("$ZodPromise", (inst, def) => {
    $ZodType.init(inst, def);
    inst._zod.parse = (payload, ctx) => {
        return Promise.resolve(payload.value).then((inner) => def.innerType._zod.run({ value: inner, issues: [] }, ctx));
    };
})));
const $ZodLazy = /*@__PURE__*/ (/* unused pure expression or super */ null && (core.$constructor("$ZodLazy", (inst, def) => {
    $ZodType.init(inst, def);
    // Cache the resolved inner type on the shared `def` so all clones of this lazy (e.g. via `.describe()`/`.meta()`) share the same inner instance, preserving identity for cycle detection on recursive schemas.
    util.defineLazy(inst._zod, "innerType", () => {
        const d = def;
        if (!d._cachedInner)
            d._cachedInner = def.getter();
        return d._cachedInner;
    });
    util.defineLazyInternal(inst, "pattern", (zod) => zod.innerType?._zod?.pattern);
    util.defineLazyInternal(inst, "propValues", (zod) => zod.innerType?._zod?.propValues);
    util.defineLazyInternal(inst, "optin", (zod) => zod.innerType?._zod?.optin ?? undefined);
    util.defineLazyInternal(inst, "optout", (zod) => zod.innerType?._zod?.optout ?? undefined);
    inst._zod.parse = (payload, ctx) => {
        const inner = inst._zod.innerType;
        return inner._zod.run(payload, ctx);
    };
})));
const $ZodCustom = /*@__PURE__*/ $constructor("$ZodCustom", (inst, def) => {
    $ZodCheck.init(inst, def);
    $ZodType.init(inst, def);
    inst._zod.parse = (payload, _) => {
        return payload;
    };
    inst._zod.check = (payload) => {
        const input = payload.value;
        const r = def.fn(input);
        if (r instanceof Promise) {
            return r.then((r) => handleRefineResult(r, payload, input, inst));
        }
        handleRefineResult(r, payload, input, inst);
        return;
    };
});
function handleRefineResult(result, payload, input, inst) {
    if (!result) {
        const _iss = {
            code: "custom",
            input,
            inst, // incorporates params.error into issue reporting
            path: [...(inst._zod.def.path ?? [])], // incorporates params.error into issue reporting
            continue: !inst._zod.def.abort,
            // params: inst._zod.def.params,
        };
        if (inst._zod.def.params)
            _iss.params = inst._zod.def.params;
        payload.issues.push(util_issue(_iss));
    }
}

;// CONCATENATED MODULE: ./node_modules/zod/v4/core/registries.js
var registries_a;
const $output = /*@__PURE__*/ (/* unused pure expression or super */ null && (Symbol("ZodOutput")));
const $input = /*@__PURE__*/ (/* unused pure expression or super */ null && (Symbol("ZodInput")));
class $ZodRegistry {
    constructor() {
        this._map = new WeakMap();
        this._idmap = new Map();
    }
    add(schema, ..._meta) {
        const meta = _meta[0];
        this._map.set(schema, meta);
        if (meta && typeof meta === "object" && "id" in meta) {
            this._idmap.set(meta.id, schema);
        }
        return this;
    }
    clear() {
        this._map = new WeakMap();
        this._idmap = new Map();
        return this;
    }
    remove(schema) {
        const meta = this._map.get(schema);
        if (meta && typeof meta === "object" && "id" in meta) {
            this._idmap.delete(meta.id);
        }
        this._map.delete(schema);
        return this;
    }
    get(schema) {
        // return this._map.get(schema) as any;
        // inherit metadata
        const p = schema._zod.parent;
        if (p) {
            const pm = { ...(this.get(p) ?? {}) };
            delete pm.id; // do not inherit id
            const f = { ...pm, ...this._map.get(schema) };
            return Object.keys(f).length ? f : undefined;
        }
        return this._map.get(schema);
    }
    has(schema) {
        return this._map.has(schema);
    }
}
// registries
function registry() {
    return new $ZodRegistry();
}
(registries_a = globalThis).__zod_globalRegistry ?? (registries_a.__zod_globalRegistry = registry());
const globalRegistry = globalThis.__zod_globalRegistry;

;// CONCATENATED MODULE: ./node_modules/zod/v4/core/api.js




function snapshotChecks(def) {
    if (def.checks)
        def.checks = [...def.checks];
    return def;
}
// @__NO_SIDE_EFFECTS__
function _string(Class, params) {
    return new Class(snapshotChecks({ type: "string", ...normalizeParams(params) }));
}
// @__NO_SIDE_EFFECTS__
function _coercedString(Class, params) {
    return new Class(snapshotChecks({ type: "string", coerce: true, ...util.normalizeParams(params) }));
}
// @__NO_SIDE_EFFECTS__
function _email(Class, params) {
    return new Class({
        type: "string",
        format: "email",
        check: "string_format",
        abort: false,
        ...util.normalizeParams(params),
    });
}
// @__NO_SIDE_EFFECTS__
function _guid(Class, params) {
    return new Class({
        type: "string",
        format: "guid",
        check: "string_format",
        abort: false,
        ...util.normalizeParams(params),
    });
}
// @__NO_SIDE_EFFECTS__
function _uuid(Class, params) {
    return new Class({
        type: "string",
        format: "uuid",
        check: "string_format",
        abort: false,
        ...util.normalizeParams(params),
    });
}
// @__NO_SIDE_EFFECTS__
function _uuidv4(Class, params) {
    return new Class({
        type: "string",
        format: "uuid",
        check: "string_format",
        abort: false,
        version: "v4",
        ...util.normalizeParams(params),
    });
}
// @__NO_SIDE_EFFECTS__
function _uuidv6(Class, params) {
    return new Class({
        type: "string",
        format: "uuid",
        check: "string_format",
        abort: false,
        version: "v6",
        ...util.normalizeParams(params),
    });
}
// @__NO_SIDE_EFFECTS__
function _uuidv7(Class, params) {
    return new Class({
        type: "string",
        format: "uuid",
        check: "string_format",
        abort: false,
        version: "v7",
        ...util.normalizeParams(params),
    });
}
// @__NO_SIDE_EFFECTS__
function _url(Class, params) {
    return new Class({
        type: "string",
        format: "url",
        check: "string_format",
        abort: false,
        ...util.normalizeParams(params),
    });
}
// @__NO_SIDE_EFFECTS__
function api_emoji(Class, params) {
    return new Class({
        type: "string",
        format: "emoji",
        check: "string_format",
        abort: false,
        ...util.normalizeParams(params),
    });
}
// @__NO_SIDE_EFFECTS__
function _nanoid(Class, params) {
    return new Class({
        type: "string",
        format: "nanoid",
        check: "string_format",
        abort: false,
        ...util.normalizeParams(params),
    });
}
/**
 * @deprecated CUID v1 is deprecated by its authors due to information leakage
 * (timestamps embedded in the id). Use {@link _cuid2} instead.
 * See https://github.com/paralleldrive/cuid.
 */
// @__NO_SIDE_EFFECTS__
function _cuid(Class, params) {
    return new Class({
        type: "string",
        format: "cuid",
        check: "string_format",
        abort: false,
        ...util.normalizeParams(params),
    });
}
// @__NO_SIDE_EFFECTS__
function _cuid2(Class, params) {
    return new Class({
        type: "string",
        format: "cuid2",
        check: "string_format",
        abort: false,
        ...util.normalizeParams(params),
    });
}
// @__NO_SIDE_EFFECTS__
function _ulid(Class, params) {
    return new Class({
        type: "string",
        format: "ulid",
        check: "string_format",
        abort: false,
        ...util.normalizeParams(params),
    });
}
// @__NO_SIDE_EFFECTS__
function _xid(Class, params) {
    return new Class({
        type: "string",
        format: "xid",
        check: "string_format",
        abort: false,
        ...util.normalizeParams(params),
    });
}
// @__NO_SIDE_EFFECTS__
function _ksuid(Class, params) {
    return new Class({
        type: "string",
        format: "ksuid",
        check: "string_format",
        abort: false,
        ...util.normalizeParams(params),
    });
}
// @__NO_SIDE_EFFECTS__
function _ipv4(Class, params) {
    return new Class({
        type: "string",
        format: "ipv4",
        check: "string_format",
        abort: false,
        ...util.normalizeParams(params),
    });
}
// @__NO_SIDE_EFFECTS__
function _ipv6(Class, params) {
    return new Class({
        type: "string",
        format: "ipv6",
        check: "string_format",
        abort: false,
        ...util.normalizeParams(params),
    });
}
// @__NO_SIDE_EFFECTS__
function _mac(Class, params) {
    return new Class({
        type: "string",
        format: "mac",
        check: "string_format",
        abort: false,
        ...util.normalizeParams(params),
    });
}
// @__NO_SIDE_EFFECTS__
function _cidrv4(Class, params) {
    return new Class({
        type: "string",
        format: "cidrv4",
        check: "string_format",
        abort: false,
        ...util.normalizeParams(params),
    });
}
// @__NO_SIDE_EFFECTS__
function _cidrv6(Class, params) {
    return new Class({
        type: "string",
        format: "cidrv6",
        check: "string_format",
        abort: false,
        ...util.normalizeParams(params),
    });
}
// @__NO_SIDE_EFFECTS__
function _base64(Class, params) {
    return new Class({
        type: "string",
        format: "base64",
        check: "string_format",
        abort: false,
        ...util.normalizeParams(params),
    });
}
// @__NO_SIDE_EFFECTS__
function _base64url(Class, params) {
    return new Class({
        type: "string",
        format: "base64url",
        check: "string_format",
        abort: false,
        ...util.normalizeParams(params),
    });
}
// @__NO_SIDE_EFFECTS__
function _e164(Class, params) {
    return new Class({
        type: "string",
        format: "e164",
        check: "string_format",
        abort: false,
        ...util.normalizeParams(params),
    });
}
// @__NO_SIDE_EFFECTS__
function _creditCard(Class, params) {
    return new Class({
        type: "string",
        format: "credit_card",
        check: "string_format",
        abort: false,
        ...util.normalizeParams(params),
    });
}
// @__NO_SIDE_EFFECTS__
function _iban(Class, params) {
    return new Class({
        type: "string",
        format: "iban",
        check: "string_format",
        abort: false,
        ...util.normalizeParams(params),
    });
}
// @__NO_SIDE_EFFECTS__
function _jwt(Class, params) {
    return new Class({
        type: "string",
        format: "jwt",
        check: "string_format",
        abort: false,
        ...util.normalizeParams(params),
    });
}
const TimePrecision = {
    Any: null,
    Minute: -1,
    Second: 0,
    Millisecond: 3,
    Microsecond: 6,
};
// @__NO_SIDE_EFFECTS__
function _isoDateTime(Class, params) {
    return new Class({
        type: "string",
        format: "datetime",
        check: "string_format",
        offset: false,
        local: false,
        precision: null,
        ...util.normalizeParams(params),
    });
}
// @__NO_SIDE_EFFECTS__
function _isoDate(Class, params) {
    return new Class({
        type: "string",
        format: "date",
        check: "string_format",
        ...util.normalizeParams(params),
    });
}
// @__NO_SIDE_EFFECTS__
function _isoTime(Class, params) {
    return new Class({
        type: "string",
        format: "time",
        check: "string_format",
        precision: null,
        ...util.normalizeParams(params),
    });
}
// @__NO_SIDE_EFFECTS__
function _isoDuration(Class, params) {
    return new Class({
        type: "string",
        format: "duration",
        check: "string_format",
        ...util.normalizeParams(params),
    });
}
// @__NO_SIDE_EFFECTS__
function _number(Class, params) {
    return new Class(snapshotChecks({ type: "number", checks: [], ...normalizeParams(params) }));
}
// @__NO_SIDE_EFFECTS__
function _coercedNumber(Class, params) {
    return new Class(snapshotChecks({ type: "number", coerce: true, checks: [], ...util.normalizeParams(params) }));
}
// @__NO_SIDE_EFFECTS__
function _int(Class, params) {
    return new Class({
        type: "number",
        check: "number_format",
        abort: false,
        format: "safeint",
        ...normalizeParams(params),
    });
}
// @__NO_SIDE_EFFECTS__
function _float32(Class, params) {
    return new Class({
        type: "number",
        check: "number_format",
        abort: false,
        format: "float32",
        ...util.normalizeParams(params),
    });
}
// @__NO_SIDE_EFFECTS__
function _float64(Class, params) {
    return new Class({
        type: "number",
        check: "number_format",
        abort: false,
        format: "float64",
        ...util.normalizeParams(params),
    });
}
// @__NO_SIDE_EFFECTS__
function _int32(Class, params) {
    return new Class({
        type: "number",
        check: "number_format",
        abort: false,
        format: "int32",
        ...util.normalizeParams(params),
    });
}
// @__NO_SIDE_EFFECTS__
function _uint32(Class, params) {
    return new Class({
        type: "number",
        check: "number_format",
        abort: false,
        format: "uint32",
        ...util.normalizeParams(params),
    });
}
// @__NO_SIDE_EFFECTS__
function _boolean(Class, params) {
    return new Class({
        type: "boolean",
        ...util.normalizeParams(params),
    });
}
// @__NO_SIDE_EFFECTS__
function _coercedBoolean(Class, params) {
    return new Class({
        type: "boolean",
        coerce: true,
        ...util.normalizeParams(params),
    });
}
// @__NO_SIDE_EFFECTS__
function _bigint(Class, params) {
    return new Class({
        type: "bigint",
        ...util.normalizeParams(params),
    });
}
// @__NO_SIDE_EFFECTS__
function _coercedBigint(Class, params) {
    return new Class({
        type: "bigint",
        coerce: true,
        ...util.normalizeParams(params),
    });
}
// @__NO_SIDE_EFFECTS__
function _int64(Class, params) {
    return new Class({
        type: "bigint",
        check: "bigint_format",
        abort: false,
        format: "int64",
        ...util.normalizeParams(params),
    });
}
// @__NO_SIDE_EFFECTS__
function _uint64(Class, params) {
    return new Class({
        type: "bigint",
        check: "bigint_format",
        abort: false,
        format: "uint64",
        ...util.normalizeParams(params),
    });
}
// @__NO_SIDE_EFFECTS__
function _symbol(Class, params) {
    return new Class({
        type: "symbol",
        ...util.normalizeParams(params),
    });
}
// @__NO_SIDE_EFFECTS__
function api_undefined(Class, params) {
    return new Class({
        type: "undefined",
        ...util.normalizeParams(params),
    });
}
// @__NO_SIDE_EFFECTS__
function api_null(Class, params) {
    return new Class({
        type: "null",
        ...util.normalizeParams(params),
    });
}
// @__NO_SIDE_EFFECTS__
function _any(Class) {
    return new Class({
        type: "any",
    });
}
// @__NO_SIDE_EFFECTS__
function _unknown(Class) {
    return new Class({
        type: "unknown",
    });
}
// @__NO_SIDE_EFFECTS__
function _never(Class, params) {
    return new Class({
        type: "never",
        ...util.normalizeParams(params),
    });
}
// @__NO_SIDE_EFFECTS__
function _void(Class, params) {
    return new Class({
        type: "void",
        ...util.normalizeParams(params),
    });
}
// @__NO_SIDE_EFFECTS__
function _date(Class, params) {
    return new Class({
        type: "date",
        ...util.normalizeParams(params),
    });
}
// @__NO_SIDE_EFFECTS__
function _coercedDate(Class, params) {
    return new Class({
        type: "date",
        coerce: true,
        ...util.normalizeParams(params),
    });
}
// @__NO_SIDE_EFFECTS__
function _nan(Class, params) {
    return new Class({
        type: "nan",
        ...util.normalizeParams(params),
    });
}
// @__NO_SIDE_EFFECTS__
function _lt(value, params) {
    return new checks.$ZodCheckLessThan({
        check: "less_than",
        ...util.normalizeParams(params),
        value,
        inclusive: false,
    });
}
// @__NO_SIDE_EFFECTS__
function _lte(value, params) {
    return new $ZodCheckLessThan({
        check: "less_than",
        ...normalizeParams(params),
        value,
        inclusive: true,
    });
}

// @__NO_SIDE_EFFECTS__
function _gt(value, params) {
    return new checks.$ZodCheckGreaterThan({
        check: "greater_than",
        ...util.normalizeParams(params),
        value,
        inclusive: false,
    });
}
// @__NO_SIDE_EFFECTS__
function _gte(value, params) {
    return new $ZodCheckGreaterThan({
        check: "greater_than",
        ...normalizeParams(params),
        value,
        inclusive: true,
    });
}

// @__NO_SIDE_EFFECTS__
function _positive(params) {
    return _gt(0, params);
}
// negative
// @__NO_SIDE_EFFECTS__
function _negative(params) {
    return _lt(0, params);
}
// nonpositive
// @__NO_SIDE_EFFECTS__
function _nonpositive(params) {
    return _lte(0, params);
}
// nonnegative
// @__NO_SIDE_EFFECTS__
function _nonnegative(params) {
    return _gte(0, params);
}
// @__NO_SIDE_EFFECTS__
function _multipleOf(value, params) {
    return new checks.$ZodCheckMultipleOf({
        check: "multiple_of",
        ...util.normalizeParams(params),
        value,
    });
}
// @__NO_SIDE_EFFECTS__
function _maxSize(maximum, params) {
    return new checks.$ZodCheckMaxSize({
        check: "max_size",
        ...util.normalizeParams(params),
        maximum,
    });
}
// @__NO_SIDE_EFFECTS__
function _minSize(minimum, params) {
    return new checks.$ZodCheckMinSize({
        check: "min_size",
        ...util.normalizeParams(params),
        minimum,
    });
}
// @__NO_SIDE_EFFECTS__
function _size(size, params) {
    return new checks.$ZodCheckSizeEquals({
        check: "size_equals",
        ...util.normalizeParams(params),
        size,
    });
}
// @__NO_SIDE_EFFECTS__
function _maxLength(maximum, params) {
    const ch = new $ZodCheckMaxLength({
        check: "max_length",
        ...normalizeParams(params),
        maximum,
    });
    return ch;
}
// @__NO_SIDE_EFFECTS__
function _minLength(minimum, params) {
    return new checks.$ZodCheckMinLength({
        check: "min_length",
        ...util.normalizeParams(params),
        minimum,
    });
}
// @__NO_SIDE_EFFECTS__
function _length(length, params) {
    return new checks.$ZodCheckLengthEquals({
        check: "length_equals",
        ...util.normalizeParams(params),
        length,
    });
}
// @__NO_SIDE_EFFECTS__
function _regex(pattern, params) {
    return new $ZodCheckRegex({
        check: "string_format",
        format: "regex",
        ...normalizeParams(params),
        pattern,
    });
}
// @__NO_SIDE_EFFECTS__
function _lowercase(params) {
    return new checks.$ZodCheckLowerCase({
        check: "string_format",
        format: "lowercase",
        ...util.normalizeParams(params),
    });
}
// @__NO_SIDE_EFFECTS__
function _uppercase(params) {
    return new checks.$ZodCheckUpperCase({
        check: "string_format",
        format: "uppercase",
        ...util.normalizeParams(params),
    });
}
// @__NO_SIDE_EFFECTS__
function _includes(includes, params) {
    return new checks.$ZodCheckIncludes({
        check: "string_format",
        format: "includes",
        ...util.normalizeParams(params),
        includes,
    });
}
// @__NO_SIDE_EFFECTS__
function _startsWith(prefix, params) {
    return new checks.$ZodCheckStartsWith({
        check: "string_format",
        format: "starts_with",
        ...util.normalizeParams(params),
        prefix,
    });
}
// @__NO_SIDE_EFFECTS__
function _endsWith(suffix, params) {
    return new checks.$ZodCheckEndsWith({
        check: "string_format",
        format: "ends_with",
        ...util.normalizeParams(params),
        suffix,
    });
}
// @__NO_SIDE_EFFECTS__
function _property(property, schema, params) {
    return new checks.$ZodCheckProperty({
        check: "property",
        property,
        schema,
        ...util.normalizeParams(params),
    });
}
// @__NO_SIDE_EFFECTS__
function _properties(shape, params) {
    return new checks.$ZodCheckProperties({
        check: "properties",
        shape,
        ...util.normalizeParams(params),
    });
}
// @__NO_SIDE_EFFECTS__
function _mime(types, params) {
    return new checks.$ZodCheckMimeType({
        check: "mime_type",
        mime: types,
        ...util.normalizeParams(params),
    });
}
// @__NO_SIDE_EFFECTS__
function _overwrite(tx) {
    return new $ZodCheckOverwrite({
        check: "overwrite",
        tx,
    });
}
// normalize
// @__NO_SIDE_EFFECTS__
function _normalize(form) {
    return _overwrite((input) => input.normalize(form));
}
// trim
// @__NO_SIDE_EFFECTS__
function _trim() {
    return _overwrite((input) => input.trim());
}
// toLowerCase
// @__NO_SIDE_EFFECTS__
function _toLowerCase() {
    return _overwrite((input) => input.toLowerCase());
}
// toUpperCase
// @__NO_SIDE_EFFECTS__
function _toUpperCase() {
    return _overwrite((input) => input.toUpperCase());
}
// slugify
// @__NO_SIDE_EFFECTS__
function _slugify() {
    return _overwrite((input) => util.slugify(input));
}
// @__NO_SIDE_EFFECTS__
function _array(Class, element, params) {
    return new Class({
        type: "array",
        element,
        // get element() {
        //   return element;
        // },
        ...util.normalizeParams(params),
    });
}
// @__NO_SIDE_EFFECTS__
function _union(Class, options, params) {
    return new Class({
        type: "union",
        options,
        ...util.normalizeParams(params),
    });
}
function _xor(Class, options, params) {
    return new Class({
        type: "union",
        options,
        inclusive: false,
        ...util.normalizeParams(params),
    });
}
// @__NO_SIDE_EFFECTS__
function _discriminatedUnion(Class, discriminator, options, params) {
    return new Class({
        type: "union",
        options: options,
        discriminator,
        ...util.normalizeParams(params),
    });
}
// @__NO_SIDE_EFFECTS__
function _intersection(Class, left, right) {
    return new Class({
        type: "intersection",
        left,
        right,
    });
}
// export function _tuple(
//   Class: util.SchemaClass<schemas.$ZodTuple>,
//   items: [],
//   params?: string | $ZodTupleParams
// ): schemas.$ZodTuple<[], null>;
// @__NO_SIDE_EFFECTS__
function _tuple(Class, items, _paramsOrRest, _params) {
    const hasRest = _paramsOrRest instanceof schemas.$ZodType;
    const params = hasRest ? _params : _paramsOrRest;
    const rest = hasRest ? _paramsOrRest : null;
    return new Class({
        type: "tuple",
        items,
        rest,
        ...util.normalizeParams(params),
    });
}
// @__NO_SIDE_EFFECTS__
function _record(Class, keyType, valueType, params) {
    return new Class({
        type: "record",
        keyType,
        valueType,
        ...util.normalizeParams(params),
    });
}
// @__NO_SIDE_EFFECTS__
function _map(Class, keyType, valueType, params) {
    return new Class({
        type: "map",
        keyType,
        valueType,
        ...util.normalizeParams(params),
    });
}
// @__NO_SIDE_EFFECTS__
function _set(Class, valueType, params) {
    return new Class({
        type: "set",
        valueType,
        ...util.normalizeParams(params),
    });
}
// @__NO_SIDE_EFFECTS__
function _enum(Class, values, params) {
    const entries = Array.isArray(values) ? Object.fromEntries(values.map((v) => [v, v])) : values;
    // if (Array.isArray(values)) {
    //   for (const value of values) {
    //     entries[value] = value;
    //   }
    // } else {
    //   Object.assign(entries, values);
    // }
    // const entries: util.EnumLike = {};
    // for (const val of values) {
    //   entries[val] = val;
    // }
    return new Class({
        type: "enum",
        entries,
        ...util.normalizeParams(params),
    });
}
// @__NO_SIDE_EFFECTS__
/** @deprecated This API has been merged into `z.enum()`. Use `z.enum()` instead.
 *
 * ```ts
 * enum Colors { red, green, blue }
 * z.enum(Colors);
 * ```
 */
function _nativeEnum(Class, entries, params) {
    return new Class({
        type: "enum",
        entries,
        ...util.normalizeParams(params),
    });
}
// @__NO_SIDE_EFFECTS__
function _literal(Class, value, params) {
    return new Class({
        type: "literal",
        values: Array.isArray(value) ? value : [value],
        ...util.normalizeParams(params),
    });
}
// @__NO_SIDE_EFFECTS__
function _file(Class, params) {
    return new Class({
        type: "file",
        ...util.normalizeParams(params),
    });
}
// @__NO_SIDE_EFFECTS__
function _transform(Class, fn) {
    return new Class({
        type: "transform",
        transform: fn,
    });
}
// @__NO_SIDE_EFFECTS__
function _optional(Class, innerType) {
    return new Class({
        type: "optional",
        innerType,
    });
}
// @__NO_SIDE_EFFECTS__
function _nullable(Class, innerType) {
    return new Class({
        type: "nullable",
        innerType,
    });
}
// @__NO_SIDE_EFFECTS__
function _default(Class, innerType, defaultValue) {
    return new Class({
        type: "default",
        innerType,
        get defaultValue() {
            return typeof defaultValue === "function" ? defaultValue() : util.shallowClone(defaultValue);
        },
    });
}
// @__NO_SIDE_EFFECTS__
function _nonoptional(Class, innerType, params) {
    return new Class({
        type: "nonoptional",
        innerType,
        ...util.normalizeParams(params),
    });
}
// @__NO_SIDE_EFFECTS__
function _success(Class, innerType) {
    return new Class({
        type: "success",
        innerType,
    });
}
// @__NO_SIDE_EFFECTS__
function _catch(Class, innerType, catchValue) {
    return new Class({
        type: "catch",
        innerType,
        catchValue: (typeof catchValue === "function" ? catchValue : util.constantCatch(catchValue)),
    });
}
// @__NO_SIDE_EFFECTS__
function _pipe(Class, in_, out) {
    return new Class({
        type: "pipe",
        in: in_,
        out,
    });
}
// @__NO_SIDE_EFFECTS__
function _readonly(Class, innerType) {
    return new Class({
        type: "readonly",
        innerType,
    });
}
// @__NO_SIDE_EFFECTS__
function _templateLiteral(Class, parts, params) {
    return new Class({
        type: "template_literal",
        parts,
        ...util.normalizeParams(params),
    });
}
// @__NO_SIDE_EFFECTS__
function _lazy(Class, getter) {
    return new Class({
        type: "lazy",
        getter,
    });
}
// @__NO_SIDE_EFFECTS__
function _promise(Class, innerType) {
    return new Class({
        type: "promise",
        innerType,
    });
}
// @__NO_SIDE_EFFECTS__
function _custom(Class, fn, _params) {
    const norm = util.normalizeParams(_params);
    norm.abort ?? (norm.abort = true); // default to abort:false
    const schema = new Class({
        type: "custom",
        check: "custom",
        fn: fn,
        ...norm,
    });
    return schema;
}
// same as _custom but defaults to abort:false
// @__NO_SIDE_EFFECTS__
function _refine(Class, fn, _params) {
    const schema = new Class({
        type: "custom",
        check: "custom",
        fn: fn,
        ...normalizeParams(_params),
    });
    return schema;
}
// @__NO_SIDE_EFFECTS__
function _superRefine(fn, params) {
    const ch = _check((payload) => {
        payload.addIssue = (issue) => {
            if (typeof issue === "string") {
                payload.issues.push(util_issue(issue, payload.value, ch._zod.def));
            }
            else {
                // for Zod 3 backwards compatibility
                const _issue = issue;
                if (_issue.fatal)
                    _issue.continue = false;
                _issue.code ?? (_issue.code = "custom");
                if (!("input" in _issue))
                    _issue.input = payload.value;
                _issue.inst ?? (_issue.inst = ch);
                _issue.continue ?? (_issue.continue = !ch._zod.def.abort); // abort is always undefined, so this is always true...
                payload.issues.push(util_issue(_issue));
            }
        };
        return fn(payload.value, payload);
    }, params);
    return ch;
}
// @__NO_SIDE_EFFECTS__
function _check(fn, params) {
    const ch = new $ZodCheck({
        check: "custom",
        ...normalizeParams(params),
    });
    ch._zod.check = fn;
    return ch;
}
// @__NO_SIDE_EFFECTS__
function api_describe(description) {
    const ch = new $ZodCheck({ check: "describe" });
    ch._zod.onattach = [
        (inst) => {
            const existing = globalRegistry.get(inst) ?? {};
            globalRegistry.add(inst, { ...existing, description });
        },
    ];
    ch._zod.check = () => { }; // no-op check
    return ch;
}
// @__NO_SIDE_EFFECTS__
function meta(metadata) {
    const ch = new $ZodCheck({ check: "meta" });
    ch._zod.onattach = [
        (inst) => {
            const existing = globalRegistry.get(inst) ?? {};
            globalRegistry.add(inst, { ...existing, ...metadata });
        },
    ];
    ch._zod.check = () => { }; // no-op check
    return ch;
}
// @__NO_SIDE_EFFECTS__
function _stringbool(Classes, _params) {
    const params = util.normalizeParams(_params);
    let truthyArray = params.truthy ?? ["true", "1", "yes", "on", "y", "enabled"];
    let falsyArray = params.falsy ?? ["false", "0", "no", "off", "n", "disabled"];
    if (params.case !== "sensitive") {
        truthyArray = truthyArray.map((v) => (typeof v === "string" ? v.toLowerCase() : v));
        falsyArray = falsyArray.map((v) => (typeof v === "string" ? v.toLowerCase() : v));
    }
    const truthySet = new Set(truthyArray);
    const falsySet = new Set(falsyArray);
    const _Codec = Classes.Codec ?? schemas.$ZodCodec;
    const _Boolean = Classes.Boolean ?? schemas.$ZodBoolean;
    const _String = Classes.String ?? schemas.$ZodString;
    const stringSchema = new _String({ type: "string", error: params.error });
    const booleanSchema = new _Boolean({ type: "boolean", error: params.error });
    const codec = new _Codec({
        type: "pipe",
        in: stringSchema,
        out: booleanSchema,
        transform: ((input, payload) => {
            let data = input;
            if (params.case !== "sensitive")
                data = data.toLowerCase();
            if (truthySet.has(data)) {
                return true;
            }
            else if (falsySet.has(data)) {
                return false;
            }
            else {
                payload.issues.push({
                    code: "invalid_value",
                    expected: "stringbool",
                    values: [...truthySet, ...falsySet],
                    input: payload.value,
                    inst: codec,
                    continue: false,
                });
                return {};
            }
        }),
        reverseTransform: ((input, _payload) => {
            if (input === true) {
                return truthyArray[0] || "true";
            }
            else {
                return falsyArray[0] || "false";
            }
        }),
        error: params.error,
    });
    codec._zod.bag.truthy = truthyArray;
    codec._zod.bag.falsy = falsyArray;
    codec._zod.bag.case = params.case ?? "insensitive";
    return codec;
}
// @__NO_SIDE_EFFECTS__
function _stringFormat(Class, format, fnOrRegex, _params = {}) {
    const params = util.normalizeParams(_params);
    const def = {
        check: "string_format",
        type: "string",
        format,
        fn: typeof fnOrRegex === "function" ? fnOrRegex : (val) => fnOrRegex.test(val),
        ...params,
    };
    if (fnOrRegex instanceof RegExp) {
        def.pattern = fnOrRegex;
    }
    const inst = new Class(def);
    return inst;
}

;// CONCATENATED MODULE: ./node_modules/zod/v4/core/errors.js


/* Computing the message eagerly is expensive (pretty-printed JSON of all
 * issues), so defer it until first read. The accessor functions and
 * descriptors are shared across instances to keep error construction
 * cheap; the computed message is cached on the internals object. The
 * setter preserves plain assignment semantics for consumers that
 * overwrite `message`. */
function _getMessage() {
    const internals = this._zod;
    internals.message ?? (internals.message = JSON.stringify(internals.def, jsonStringifyReplacer, 2));
    return internals.message;
}
function _setMessage(value) {
    this._zod.message = value;
}
const _messageDesc = {
    get: _getMessage,
    set: _setMessage,
    enumerable: true,
    configurable: true,
};
const _issuesDesc = { value: undefined, enumerable: false };
/* Prototypes that already carry the lazy `toString`. Seeded with the
 * intrinsics so that `init` on a foreign object — it accepts any object —
 * can never install an accessor onto a prototype we do not own. */
const _installedToString = /* @__PURE__ */ new WeakSet([Object.prototype, Error.prototype]);
const initializer = (inst, def) => {
    inst.name = "$ZodError";
    // `_zod` is already non-enumerable: $constructor's init defined it with this same descriptor
    _issuesDesc.value = def;
    Object.defineProperty(inst, "issues", _issuesDesc);
    // Clear the shared slot; a retained `value` pins the last error's issues.
    _issuesDesc.value = undefined;
    Object.defineProperty(inst, "message", _messageDesc);
    /* `toString` lives as a non-enumerable lazy getter on the shared
     * prototype; on first access it caches a per-instance closure so
     * detached usage still works. */
    const proto = Object.getPrototypeOf(inst);
    if (!_installedToString.has(proto)) {
        _installedToString.add(proto);
        Object.defineProperty(proto, "toString", {
            configurable: true,
            enumerable: false,
            get() {
                const value = () => this.message;
                Object.defineProperty(this, "toString", { value, configurable: true, writable: true });
                return value;
            },
            set(value) {
                Object.defineProperty(this, "toString", { value, configurable: true, writable: true });
            },
        });
    }
};
const $ZodError = $constructor("$ZodError", initializer);
const $ZodRealError = $constructor("$ZodError", initializer, undefined, {
    Parent: Error,
});
/** Get-or-create `obj[key]` as an own data property. A path segment naming an inherited member
 * ("toString", "constructor") would otherwise read through to the prototype, and assigning
 * "__proto__" would hit the setter instead of creating a key. */
function node(obj, key, make) {
    if (!Object.prototype.hasOwnProperty.call(obj, key)) {
        if (key === "__proto__") {
            Object.defineProperty(obj, key, { value: make(), writable: true, enumerable: true, configurable: true });
        }
        else {
            obj[key] = make();
        }
    }
    return obj[key];
}
function flattenError(error, mapper = (issue) => issue.message) {
    const fieldErrors = {};
    const formErrors = [];
    for (const sub of error.issues) {
        if (sub.path.length > 0) {
            node(fieldErrors, sub.path[0], () => []).push(mapper(sub));
        }
        else {
            formErrors.push(mapper(sub));
        }
    }
    return { formErrors, fieldErrors };
}
function errors_formatError(error, mapper = (issue) => issue.message) {
    const fieldErrors = { _errors: [] };
    const processError = (error, path = []) => {
        for (const issue of error.issues) {
            if (issue.code === "invalid_union" && issue.errors.length) {
                issue.errors.map((issues) => processError({ issues }, [...path, ...issue.path]));
            }
            else if (issue.code === "invalid_key") {
                processError({ issues: issue.issues }, [...path, ...issue.path]);
            }
            else if (issue.code === "invalid_element") {
                processError({ issues: issue.issues }, [...path, ...issue.path]);
            }
            else {
                const fullpath = [...path, ...issue.path];
                if (fullpath.length === 0) {
                    fieldErrors._errors.push(mapper(issue));
                }
                else {
                    let curr = fieldErrors;
                    let i = 0;
                    while (i < fullpath.length) {
                        const el = fullpath[i];
                        const terminal = i === fullpath.length - 1;
                        // `_errors` is reserved by this legacy format, so merge a matching path segment into the current node instead of treating its array as a child.
                        if (el === "_errors") {
                            if (terminal)
                                curr._errors.push(mapper(issue));
                            i++;
                            continue;
                        }
                        // A path element may collide with an inherited property name such as
                        // "__proto__" or "constructor". Truthiness checks read the prototype
                        // (so no node is created, then ._errors.push throws), and bracket
                        // assignment of "__proto__" hits the setter instead of creating an
                        // own key. Guard the read with hasOwnProperty and create the node
                        // with defineProperty so any path element becomes a real own key.
                        if (!Object.prototype.hasOwnProperty.call(curr, el)) {
                            Object.defineProperty(curr, el, {
                                value: { _errors: [] },
                                enumerable: true,
                                writable: true,
                                configurable: true,
                            });
                        }
                        const node = curr[el];
                        if (terminal) {
                            node._errors.push(mapper(issue));
                        }
                        curr = node;
                        i++;
                    }
                }
            }
        }
    };
    processError(error);
    return fieldErrors;
}
function treeifyError(error, mapper = (issue) => issue.message) {
    const result = { errors: [] };
    const processError = (error, path = []) => {
        var _a;
        for (const issue of error.issues) {
            if (issue.code === "invalid_union" && issue.errors.length) {
                // regular union error
                issue.errors.map((issues) => processError({ issues }, [...path, ...issue.path]));
            }
            else if (issue.code === "invalid_key") {
                processError({ issues: issue.issues }, [...path, ...issue.path]);
            }
            else if (issue.code === "invalid_element") {
                processError({ issues: issue.issues }, [...path, ...issue.path]);
            }
            else {
                const fullpath = [...path, ...issue.path];
                if (fullpath.length === 0) {
                    result.errors.push(mapper(issue));
                    continue;
                }
                let curr = result;
                let i = 0;
                while (i < fullpath.length) {
                    const el = fullpath[i];
                    const terminal = i === fullpath.length - 1;
                    if (typeof el === "string") {
                        curr.properties ?? (curr.properties = {});
                        // el may collide with an inherited property name ("__proto__",
                        // "constructor", ...); ??= reads the prototype so the node is never
                        // created and curr.errors.push throws. Guard with hasOwnProperty and
                        // create the node with defineProperty so "__proto__" becomes a real
                        // own key rather than invoking the prototype setter.
                        if (!Object.prototype.hasOwnProperty.call(curr.properties, el)) {
                            Object.defineProperty(curr.properties, el, {
                                value: { errors: [] },
                                enumerable: true,
                                writable: true,
                                configurable: true,
                            });
                        }
                        curr = curr.properties[el];
                    }
                    else {
                        curr.items ?? (curr.items = []);
                        (_a = curr.items)[el] ?? (_a[el] = { errors: [] });
                        curr = curr.items[el];
                    }
                    if (terminal) {
                        curr.errors.push(mapper(issue));
                    }
                    i++;
                }
            }
        }
    };
    processError(error);
    return result;
}
/** Format a ZodError as a human-readable string in the following form.
 *
 * From
 *
 * ```ts
 * ZodError {
 *   issues: [
 *     {
 *       expected: 'string',
 *       code: 'invalid_type',
 *       path: [ 'username' ],
 *       message: 'Invalid input: expected string'
 *     },
 *     {
 *       expected: 'number',
 *       code: 'invalid_type',
 *       path: [ 'favoriteNumbers', 1 ],
 *       message: 'Invalid input: expected number'
 *     }
 *   ];
 * }
 * ```
 *
 * to
 *
 * ```
 * username
 *   ✖ Expected number, received string at "username
 * favoriteNumbers[0]
 *   ✖ Invalid input: expected number
 * ```
 */
function toDotPath(_path) {
    const segs = [];
    const path = _path.map((seg) => (typeof seg === "object" ? seg.key : seg));
    for (const seg of path) {
        if (typeof seg === "number")
            segs.push(`[${seg}]`);
        else if (typeof seg === "symbol")
            segs.push(`[${JSON.stringify(String(seg))}]`);
        else if (/[^\w$]/.test(seg))
            segs.push(`[${JSON.stringify(seg)}]`);
        else {
            if (segs.length)
                segs.push(".");
            segs.push(seg);
        }
    }
    return segs.join("");
}
function prettifyError(error) {
    const lines = [];
    // sort by path length
    const issues = [...error.issues].sort((a, b) => (a.path ?? []).length - (b.path ?? []).length);
    // Process each issue
    for (const issue of issues) {
        lines.push(`✖ ${issue.message}`);
        if (issue.path?.length)
            lines.push(`  → at ${toDotPath(issue.path)}`);
    }
    // Convert Map to formatted string
    return lines.join("\n");
}

;// CONCATENATED MODULE: ./node_modules/zod/v4/core/parse.js



// Always both keys, so the `_params` read site in `_parse` sees one object shape rather than two.
function finalizeParams(callee, params) {
    return { callee: params?.callee ?? callee, Err: params?.Err };
}
const _parse = (_Err) => {
    const fn = (schema, value, _ctx, _params) => {
        const ctx = _ctx ? { ..._ctx, async: false } : { async: false };
        const result = schema._zod.run({ value, issues: [] }, ctx);
        if (result instanceof Promise) {
            throw new $ZodAsyncError();
        }
        if (result.issues.length) {
            const e = new (_params?.Err ?? _Err)(result.issues.map((iss) => finalizeIssue(iss, ctx, config())));
            captureStackTrace(e, _params?.callee ?? fn);
            throw e;
        }
        return result.value;
    };
    return fn;
};
const parse_parse = /* @__PURE__*/ _parse($ZodRealError);
const _parseAsync = (_Err) => {
    const fn = async (schema, value, _ctx, params) => {
        const ctx = _ctx ? { ..._ctx, async: true } : { async: true };
        let result = schema._zod.run({ value, issues: [] }, ctx);
        if (result instanceof Promise)
            result = await result;
        if (result.issues.length) {
            const e = new (params?.Err ?? _Err)(result.issues.map((iss) => finalizeIssue(iss, ctx, config())));
            captureStackTrace(e, params?.callee ?? fn);
            throw e;
        }
        return result.value;
    };
    return fn;
};
const parse_parseAsync = /* @__PURE__*/ _parseAsync($ZodRealError);
const _safeParse = (_Err) => (schema, value, _ctx) => {
    const ctx = _ctx ? { ..._ctx, async: false } : { async: false };
    const result = schema._zod.run({ value, issues: [] }, ctx);
    if (result instanceof Promise) {
        throw new $ZodAsyncError();
    }
    return result.issues.length ? failure(_Err, result.issues, ctx) : { success: true, data: result.value };
};
const safeParse = /* @__PURE__*/ _safeParse($ZodRealError);
// the error is built on the first read of `error`: finalizing the issues and constructing the instance is most of a failing parse, and a caller that only branches on `success` never pays it. a getter in the literal keeps this small; the alternative, one shared accessor descriptor plus a hidden state slot, reads ~15% faster but costs ~75 B gzipped in every bundle
function failure(Err, issues, ctx) {
    let error;
    return {
        success: false,
        get error() {
            if (!error) {
                error = new Err(issues.map((iss) => finalizeIssue(iss, ctx, config())));
                // finalizeIssue drops `input`, so the built error holds nothing; keeping the raw issues past this point pins the parsed value for the life of the result
                issues = undefined;
                ctx = undefined;
            }
            return error;
        },
        set error(e) {
            error = e;
            // a replacement makes the getter's branch unreachable, so the captures have to go here too
            issues = undefined;
            ctx = undefined;
        },
    };
}
const _safeParseAsync = (_Err) => async (schema, value, _ctx) => {
    const ctx = _ctx ? { ..._ctx, async: true } : { async: true };
    let result = schema._zod.run({ value, issues: [] }, ctx);
    if (result instanceof Promise)
        result = await result;
    return result.issues.length ? failure(_Err, result.issues, ctx) : { success: true, data: result.value };
};
const safeParseAsync = /* @__PURE__*/ _safeParseAsync($ZodRealError);
// registry mirrors of the compiler's sentinels, so this module never imports the compiler
const COMPILE_INVALID = /* @__PURE__ */ (/* unused pure expression or super */ null && (Symbol.for("zod.compile.invalid")));
const COMPILE_FALLBACK = /* @__PURE__ */ (/* unused pure expression or super */ null && (Symbol.for("zod.compile.fallback")));
// Deliberately tiny, because v8 will not inline a body carrying the fallback's object literals and throw. Everything that is not the compiled happy path lives in validateFallback, and that split is worth ~35% on a compiled schema.
const validate = ((schema, value, _ctx) => {
    const validator = schema._zod.bag.validator;
    if (validator !== undefined) {
        if (validator(value) !== COMPILE_INVALID)
            return true;
        // a definite sentinel means the runtime would reject, so skip the re-parse; a ctx can still change the answer
        if (validator.definite === true && _ctx === undefined)
            return false;
    }
    return validateFallback(schema, value, _ctx);
});
function validateFallback(schema, value, _ctx) {
    const ctx = _ctx
        ? { ..._ctx, async: false, abortEarly: true }
        : { async: false, abortEarly: true };
    const fallbackRun = schema._zod.bag.fallbackRun;
    let result;
    if (fallbackRun) {
        // skip nested fast paths on the fallback, so user callbacks keep the at-most-twice bound
        ctx[COMPILE_FALLBACK] = true;
        result = fallbackRun({ value, issues: [] }, ctx);
    }
    else {
        result = schema._zod.run({ value, issues: [] }, ctx);
    }
    if (result instanceof Promise) {
        throw new core.$ZodAsyncError();
    }
    return result.issues.length === 0;
}
// no fast path: the compiler keeps async parses on the runtime, because a promise-returning callback that is not declared async compiles to a throw
const parse_validateAsync = async (schema, value, _ctx) => {
    const ctx = _ctx
        ? { ..._ctx, async: true, abortEarly: true }
        : { async: true, abortEarly: true };
    let result = schema._zod.run({ value, issues: [] }, ctx);
    if (result instanceof Promise)
        result = await result;
    return result.issues.length === 0;
};
const _encode = (_Err) => {
    const parse = _parse(_Err);
    const fn = (schema, value, _ctx, _params) => {
        const ctx = _ctx ? { ..._ctx, direction: "backward" } : { direction: "backward" };
        return parse(schema, value, ctx, finalizeParams(fn, _params));
    };
    return fn;
};
const encode = /* @__PURE__*/ _encode($ZodRealError);
const _decode = (_Err) => {
    const parse = _parse(_Err);
    const fn = (schema, value, _ctx, _params) => {
        return parse(schema, value, _ctx, finalizeParams(fn, _params));
    };
    return fn;
};
const decode = /* @__PURE__*/ _decode($ZodRealError);
const _encodeAsync = (_Err) => {
    const parseAsync = _parseAsync(_Err);
    const fn = async (schema, value, _ctx, _params) => {
        const ctx = _ctx ? { ..._ctx, direction: "backward" } : { direction: "backward" };
        return (await parseAsync(schema, value, ctx, finalizeParams(fn, _params)));
    };
    return fn;
};
const encodeAsync = /* @__PURE__*/ _encodeAsync($ZodRealError);
const _decodeAsync = (_Err) => {
    const parseAsync = _parseAsync(_Err);
    const fn = async (schema, value, _ctx, _params) => {
        return await parseAsync(schema, value, _ctx, finalizeParams(fn, _params));
    };
    return fn;
};
const decodeAsync = /* @__PURE__*/ _decodeAsync($ZodRealError);
const _safeEncode = (_Err) => (schema, value, _ctx) => {
    const ctx = _ctx ? { ..._ctx, direction: "backward" } : { direction: "backward" };
    return _safeParse(_Err)(schema, value, ctx);
};
const safeEncode = /* @__PURE__*/ _safeEncode($ZodRealError);
const _safeDecode = (_Err) => (schema, value, _ctx) => {
    return _safeParse(_Err)(schema, value, _ctx);
};
const safeDecode = /* @__PURE__*/ _safeDecode($ZodRealError);
const _safeEncodeAsync = (_Err) => async (schema, value, _ctx) => {
    const ctx = _ctx ? { ..._ctx, direction: "backward" } : { direction: "backward" };
    return _safeParseAsync(_Err)(schema, value, ctx);
};
const safeEncodeAsync = /* @__PURE__*/ _safeEncodeAsync($ZodRealError);
const _safeDecodeAsync = (_Err) => async (schema, value, _ctx) => {
    return _safeParseAsync(_Err)(schema, value, _ctx);
};
const safeDecodeAsync = /* @__PURE__*/ _safeDecodeAsync($ZodRealError);

;// CONCATENATED MODULE: ./node_modules/zod/v4/mini/schemas.js




const ZodMiniType = /*@__PURE__*/ $constructor("ZodMiniType", (inst, def) => {
    if (!inst._zod)
        throw new Error("Uninitialized schema in ZodMiniType.");
    $ZodType.init(inst, def);
    inst.def = def;
    inst.type = def.type;
}, {
    // `with` is an alias for `check`: the same function object, not a wrapper.
    get with() {
        return this.check;
    },
    set with(value) {
        own(this, "with", value);
    },
    parse(data, params) {
        return parse_parse(this, data, params, { callee: this.parse });
    },
    parseAsync(data, params) {
        return parse_parseAsync(this, data, params, { callee: this.parseAsync });
    },
    safeParse(data, params) {
        return safeParse(this, data, params);
    },
    safeParseAsync(data, params) {
        return safeParseAsync(this, data, params);
    },
    check(...checks) {
        const def = this.def;
        return this.clone({
            ...def,
            checks: [
                ...(def.checks ?? []),
                ...checks.map((ch) => typeof ch === "function" ? { _zod: { check: ch, def: { check: "custom" }, onattach: [] } } : ch),
            ],
        }, { parent: true });
    },
    clone(_def, params) {
        return clone(this, _def, params);
    },
    brand() {
        return this;
    },
    register(reg, meta) {
        reg.add(this, meta);
        return this;
    },
    apply(fn, ...args) {
        return args.length === 0 ? fn(this) : fn(this, ...args);
    },
});
const ZodMiniString = /*@__PURE__*/ $constructor("ZodMiniString", (inst, def) => {
    $ZodString.init(inst, def);
    ZodMiniType.init(inst, def);
});
// @__NO_SIDE_EFFECTS__
function schemas_string(params) {
    return _string(ZodMiniString, params);
}
const ZodMiniStringFormat = /*@__PURE__*/ (/* unused pure expression or super */ null && (core.$constructor("ZodMiniStringFormat", (inst, def) => {
    core.$ZodStringFormat.init(inst, def);
    ZodMiniString.init(inst, def);
})));
const ZodMiniEmail = /*@__PURE__*/ (/* unused pure expression or super */ null && (core.$constructor("ZodMiniEmail", (inst, def) => {
    core.$ZodEmail.init(inst, def);
    ZodMiniStringFormat.init(inst, def);
})));
// @__NO_SIDE_EFFECTS__
function schemas_email(params) {
    return core._email(ZodMiniEmail, params);
}
const ZodMiniGUID = /*@__PURE__*/ (/* unused pure expression or super */ null && (core.$constructor("ZodMiniGUID", (inst, def) => {
    core.$ZodGUID.init(inst, def);
    ZodMiniStringFormat.init(inst, def);
})));
// @__NO_SIDE_EFFECTS__
function schemas_guid(params) {
    return core._guid(ZodMiniGUID, params);
}
const ZodMiniUUID = /*@__PURE__*/ (/* unused pure expression or super */ null && (core.$constructor("ZodMiniUUID", (inst, def) => {
    core.$ZodUUID.init(inst, def);
    ZodMiniStringFormat.init(inst, def);
})));
// @__NO_SIDE_EFFECTS__
function schemas_uuid(params) {
    return core._uuid(ZodMiniUUID, params);
}
// @__NO_SIDE_EFFECTS__
function uuidv4(params) {
    return core._uuidv4(ZodMiniUUID, params);
}
// ZodMiniUUIDv6
// @__NO_SIDE_EFFECTS__
function uuidv6(params) {
    return core._uuidv6(ZodMiniUUID, params);
}
// ZodMiniUUIDv7
// @__NO_SIDE_EFFECTS__
function uuidv7(params) {
    return core._uuidv7(ZodMiniUUID, params);
}
const ZodMiniURL = /*@__PURE__*/ (/* unused pure expression or super */ null && (core.$constructor("ZodMiniURL", (inst, def) => {
    core.$ZodURL.init(inst, def);
    ZodMiniStringFormat.init(inst, def);
})));
// @__NO_SIDE_EFFECTS__
function url(params) {
    return core._url(ZodMiniURL, params);
}
// @__NO_SIDE_EFFECTS__
function httpUrl(params) {
    return core._url(ZodMiniURL, {
        protocol: regexes.httpProtocol,
        hostname: regexes.domain,
        ...util.normalizeParams(params),
    });
}
const ZodMiniEmoji = /*@__PURE__*/ (/* unused pure expression or super */ null && (core.$constructor("ZodMiniEmoji", (inst, def) => {
    core.$ZodEmoji.init(inst, def);
    ZodMiniStringFormat.init(inst, def);
})));
// @__NO_SIDE_EFFECTS__
function schemas_emoji(params) {
    return core._emoji(ZodMiniEmoji, params);
}
const ZodMiniNanoID = /*@__PURE__*/ (/* unused pure expression or super */ null && (core.$constructor("ZodMiniNanoID", (inst, def) => {
    core.$ZodNanoID.init(inst, def);
    ZodMiniStringFormat.init(inst, def);
})));
// @__NO_SIDE_EFFECTS__
function schemas_nanoid(params) {
    return core._nanoid(ZodMiniNanoID, params);
}
/**
 * @deprecated CUID v1 is deprecated by its authors due to information leakage
 * (timestamps embedded in the id). Use {@link ZodMiniCUID2} instead.
 * See https://github.com/paralleldrive/cuid.
 */
const ZodMiniCUID = /*@__PURE__*/ (/* unused pure expression or super */ null && (core.$constructor("ZodMiniCUID", (inst, def) => {
    core.$ZodCUID.init(inst, def);
    ZodMiniStringFormat.init(inst, def);
})));
/**
 * Validates a CUID v1 string.
 *
 * @deprecated CUID v1 is deprecated by its authors due to information leakage
 * (timestamps embedded in the id). Use {@link cuid2 | `z.cuid2()`} instead.
 * See https://github.com/paralleldrive/cuid.
 */
// @__NO_SIDE_EFFECTS__
function schemas_cuid(params) {
    return core._cuid(ZodMiniCUID, params);
}
const ZodMiniCUID2 = /*@__PURE__*/ (/* unused pure expression or super */ null && (core.$constructor("ZodMiniCUID2", (inst, def) => {
    core.$ZodCUID2.init(inst, def);
    ZodMiniStringFormat.init(inst, def);
})));
// @__NO_SIDE_EFFECTS__
function schemas_cuid2(params) {
    return core._cuid2(ZodMiniCUID2, params);
}
const ZodMiniULID = /*@__PURE__*/ (/* unused pure expression or super */ null && (core.$constructor("ZodMiniULID", (inst, def) => {
    core.$ZodULID.init(inst, def);
    ZodMiniStringFormat.init(inst, def);
})));
// @__NO_SIDE_EFFECTS__
function schemas_ulid(params) {
    return core._ulid(ZodMiniULID, params);
}
const ZodMiniXID = /*@__PURE__*/ (/* unused pure expression or super */ null && (core.$constructor("ZodMiniXID", (inst, def) => {
    core.$ZodXID.init(inst, def);
    ZodMiniStringFormat.init(inst, def);
})));
// @__NO_SIDE_EFFECTS__
function schemas_xid(params) {
    return core._xid(ZodMiniXID, params);
}
const ZodMiniKSUID = /*@__PURE__*/ (/* unused pure expression or super */ null && (core.$constructor("ZodMiniKSUID", (inst, def) => {
    core.$ZodKSUID.init(inst, def);
    ZodMiniStringFormat.init(inst, def);
})));
// @__NO_SIDE_EFFECTS__
function schemas_ksuid(params) {
    return core._ksuid(ZodMiniKSUID, params);
}
const ZodMiniIPv4 = /*@__PURE__*/ (/* unused pure expression or super */ null && (core.$constructor("ZodMiniIPv4", (inst, def) => {
    core.$ZodIPv4.init(inst, def);
    ZodMiniStringFormat.init(inst, def);
})));
// @__NO_SIDE_EFFECTS__
function schemas_ipv4(params) {
    return core._ipv4(ZodMiniIPv4, params);
}
const ZodMiniIPv6 = /*@__PURE__*/ (/* unused pure expression or super */ null && (core.$constructor("ZodMiniIPv6", (inst, def) => {
    core.$ZodIPv6.init(inst, def);
    ZodMiniStringFormat.init(inst, def);
})));
// @__NO_SIDE_EFFECTS__
function schemas_ipv6(params) {
    return core._ipv6(ZodMiniIPv6, params);
}
const ZodMiniCIDRv4 = /*@__PURE__*/ (/* unused pure expression or super */ null && (core.$constructor("ZodMiniCIDRv4", (inst, def) => {
    core.$ZodCIDRv4.init(inst, def);
    ZodMiniStringFormat.init(inst, def);
})));
// @__NO_SIDE_EFFECTS__
function schemas_cidrv4(params) {
    return core._cidrv4(ZodMiniCIDRv4, params);
}
const ZodMiniCIDRv6 = /*@__PURE__*/ (/* unused pure expression or super */ null && (core.$constructor("ZodMiniCIDRv6", (inst, def) => {
    core.$ZodCIDRv6.init(inst, def);
    ZodMiniStringFormat.init(inst, def);
})));
// @__NO_SIDE_EFFECTS__
function schemas_cidrv6(params) {
    return core._cidrv6(ZodMiniCIDRv6, params);
}
const ZodMiniMAC = /*@__PURE__*/ (/* unused pure expression or super */ null && (core.$constructor("ZodMiniMAC", (inst, def) => {
    core.$ZodMAC.init(inst, def);
    ZodMiniStringFormat.init(inst, def);
})));
// @__NO_SIDE_EFFECTS__
function schemas_mac(params) {
    return core._mac(ZodMiniMAC, params);
}
const ZodMiniBase64 = /*@__PURE__*/ (/* unused pure expression or super */ null && (core.$constructor("ZodMiniBase64", (inst, def) => {
    core.$ZodBase64.init(inst, def);
    ZodMiniStringFormat.init(inst, def);
})));
// @__NO_SIDE_EFFECTS__
function schemas_base64(params) {
    return core._base64(ZodMiniBase64, params);
}
const ZodMiniBase64URL = /*@__PURE__*/ (/* unused pure expression or super */ null && (core.$constructor("ZodMiniBase64URL", (inst, def) => {
    core.$ZodBase64URL.init(inst, def);
    ZodMiniStringFormat.init(inst, def);
})));
// @__NO_SIDE_EFFECTS__
function schemas_base64url(params) {
    return core._base64url(ZodMiniBase64URL, params);
}
const ZodMiniE164 = /*@__PURE__*/ (/* unused pure expression or super */ null && (core.$constructor("ZodMiniE164", (inst, def) => {
    core.$ZodE164.init(inst, def);
    ZodMiniStringFormat.init(inst, def);
})));
// @__NO_SIDE_EFFECTS__
function schemas_e164(params) {
    return core._e164(ZodMiniE164, params);
}
const ZodMiniCreditCard = /*@__PURE__*/ (/* unused pure expression or super */ null && (core.$constructor("ZodMiniCreditCard", (inst, def) => {
    core.$ZodCreditCard.init(inst, def);
    ZodMiniStringFormat.init(inst, def);
})));
// @__NO_SIDE_EFFECTS__
function schemas_creditCard(params) {
    return core._creditCard(ZodMiniCreditCard, params);
}
const ZodMiniIBAN = /*@__PURE__*/ (/* unused pure expression or super */ null && (core.$constructor("ZodMiniIBAN", (inst, def) => {
    core.$ZodIBAN.init(inst, def);
    ZodMiniStringFormat.init(inst, def);
})));
// @__NO_SIDE_EFFECTS__
function schemas_iban(params) {
    return core._iban(ZodMiniIBAN, params);
}
const ZodMiniJWT = /*@__PURE__*/ (/* unused pure expression or super */ null && (core.$constructor("ZodMiniJWT", (inst, def) => {
    core.$ZodJWT.init(inst, def);
    ZodMiniStringFormat.init(inst, def);
})));
// @__NO_SIDE_EFFECTS__
function jwt(params) {
    return core._jwt(ZodMiniJWT, params);
}
const ZodMiniCustomStringFormat = /*@__PURE__*/ (/* unused pure expression or super */ null && (core.$constructor("ZodMiniCustomStringFormat", (inst, def) => {
    core.$ZodCustomStringFormat.init(inst, def);
    ZodMiniStringFormat.init(inst, def);
})));
// @__NO_SIDE_EFFECTS__
function stringFormat(format, fnOrRegex, _params = {}) {
    return core._stringFormat(ZodMiniCustomStringFormat, format, fnOrRegex, _params);
}
// @__NO_SIDE_EFFECTS__
function schemas_hostname(_params) {
    return core._stringFormat(ZodMiniCustomStringFormat, "hostname", regexes.hostname, _params);
}
// @__NO_SIDE_EFFECTS__
function schemas_hex(_params) {
    return core._stringFormat(ZodMiniCustomStringFormat, "hex", regexes.hex, _params);
}
// @__NO_SIDE_EFFECTS__
function schemas_currencyCode(_params) {
    return core._stringFormat(ZodMiniCustomStringFormat, "currency_code", regexes.currencyCode, _params);
}
// @__NO_SIDE_EFFECTS__
function hash(alg, params) {
    const enc = params?.enc ?? "hex";
    const format = `${alg}_${enc}`;
    const regex = core.regexes[format];
    // check for unrecognized format
    if (!regex)
        throw new Error(`Unrecognized hash format: ${format}`);
    return core._stringFormat(ZodMiniCustomStringFormat, format, regex, params);
}
const ZodMiniNumber = /*@__PURE__*/ $constructor("ZodMiniNumber", (inst, def) => {
    $ZodNumber.init(inst, def);
    ZodMiniType.init(inst, def);
});
// @__NO_SIDE_EFFECTS__
function schemas_number(params) {
    return _number(ZodMiniNumber, params);
}
const ZodMiniNumberFormat = /*@__PURE__*/ $constructor("ZodMiniNumberFormat", (inst, def) => {
    $ZodNumberFormat.init(inst, def);
    ZodMiniNumber.init(inst, def);
});
function schemas_int(params) {
    return _int(ZodMiniNumberFormat, params);
}
function float32(params) {
    return core._float32(ZodMiniNumberFormat, params);
}
function float64(params) {
    return core._float64(ZodMiniNumberFormat, params);
}
function int32(params) {
    return core._int32(ZodMiniNumberFormat, params);
}
function uint32(params) {
    return core._uint32(ZodMiniNumberFormat, params);
}
const ZodMiniBoolean = /*@__PURE__*/ (/* unused pure expression or super */ null && (core.$constructor("ZodMiniBoolean", (inst, def) => {
    core.$ZodBoolean.init(inst, def);
    ZodMiniType.init(inst, def);
})));
// @__NO_SIDE_EFFECTS__
function schemas_boolean(params) {
    return core._boolean(ZodMiniBoolean, params);
}
const ZodMiniBigInt = /*@__PURE__*/ (/* unused pure expression or super */ null && (core.$constructor("ZodMiniBigInt", (inst, def) => {
    core.$ZodBigInt.init(inst, def);
    ZodMiniType.init(inst, def);
})));
// @__NO_SIDE_EFFECTS__
function schemas_bigint(params) {
    return core._bigint(ZodMiniBigInt, params);
}
const ZodMiniBigIntFormat = /*@__PURE__*/ (/* unused pure expression or super */ null && (core.$constructor("ZodMiniBigIntFormat", (inst, def) => {
    core.$ZodBigIntFormat.init(inst, def);
    ZodMiniBigInt.init(inst, def);
})));
function int64(params) {
    return core._int64(ZodMiniBigIntFormat, params);
}
function uint64(params) {
    return core._uint64(ZodMiniBigIntFormat, params);
}
const ZodMiniSymbol = /*@__PURE__*/ (/* unused pure expression or super */ null && (core.$constructor("ZodMiniSymbol", (inst, def) => {
    core.$ZodSymbol.init(inst, def);
    ZodMiniType.init(inst, def);
})));
// @__NO_SIDE_EFFECTS__
function symbol(params) {
    return core._symbol(ZodMiniSymbol, params);
}
const ZodMiniUndefined = /*@__PURE__*/ (/* unused pure expression or super */ null && (core.$constructor("ZodMiniUndefined", (inst, def) => {
    core.$ZodUndefined.init(inst, def);
    ZodMiniType.init(inst, def);
})));
// @__NO_SIDE_EFFECTS__
function schemas_undefined(params) {
    return core._undefined(ZodMiniUndefined, params);
}

const ZodMiniNull = /*@__PURE__*/ (/* unused pure expression or super */ null && (core.$constructor("ZodMiniNull", (inst, def) => {
    core.$ZodNull.init(inst, def);
    ZodMiniType.init(inst, def);
})));
// @__NO_SIDE_EFFECTS__
function schemas_null(params) {
    return core._null(ZodMiniNull, params);
}

const ZodMiniAny = /*@__PURE__*/ (/* unused pure expression or super */ null && (core.$constructor("ZodMiniAny", (inst, def) => {
    core.$ZodAny.init(inst, def);
    ZodMiniType.init(inst, def);
})));
// @__NO_SIDE_EFFECTS__
function any() {
    return core._any(ZodMiniAny);
}
const ZodMiniUnknown = /*@__PURE__*/ (/* unused pure expression or super */ null && (core.$constructor("ZodMiniUnknown", (inst, def) => {
    core.$ZodUnknown.init(inst, def);
    ZodMiniType.init(inst, def);
})));
// @__NO_SIDE_EFFECTS__
function unknown() {
    return core._unknown(ZodMiniUnknown);
}
const ZodMiniNever = /*@__PURE__*/ (/* unused pure expression or super */ null && (core.$constructor("ZodMiniNever", (inst, def) => {
    core.$ZodNever.init(inst, def);
    ZodMiniType.init(inst, def);
})));
// @__NO_SIDE_EFFECTS__
function never(params) {
    return core._never(ZodMiniNever, params);
}
const ZodMiniVoid = /*@__PURE__*/ (/* unused pure expression or super */ null && (core.$constructor("ZodMiniVoid", (inst, def) => {
    core.$ZodVoid.init(inst, def);
    ZodMiniType.init(inst, def);
})));
// @__NO_SIDE_EFFECTS__
function schemas_void(params) {
    return core._void(ZodMiniVoid, params);
}

const ZodMiniDate = /*@__PURE__*/ (/* unused pure expression or super */ null && (core.$constructor("ZodMiniDate", (inst, def) => {
    core.$ZodDate.init(inst, def);
    ZodMiniType.init(inst, def);
})));
// @__NO_SIDE_EFFECTS__
function schemas_date(params) {
    return core._date(ZodMiniDate, params);
}
const ZodMiniArray = /*@__PURE__*/ (/* unused pure expression or super */ null && (core.$constructor("ZodMiniArray", (inst, def) => {
    core.$ZodArray.init(inst, def);
    ZodMiniType.init(inst, def);
})));
// @__NO_SIDE_EFFECTS__
function array(element, params) {
    return new ZodMiniArray({
        type: "array",
        element: element,
        ...util.normalizeParams(params),
    });
}
// .keyof
// @__NO_SIDE_EFFECTS__
function keyof(schema) {
    const shape = schema._zod.def.shape;
    return schemas_enum(Object.keys(shape));
}
const ZodMiniObject = /*@__PURE__*/ $constructor("ZodMiniObject", (inst, def) => {
    $ZodObject.init(inst, def);
    ZodMiniType.init(inst, def);
    installLazyProp(inst, "shape", (self) => self._zod.def.shape, false);
});
// @__NO_SIDE_EFFECTS__
function object(shape, params) {
    const def = {
        type: "object",
        shape: shape ?? {},
        ...normalizeParams(params),
    };
    return new ZodMiniObject(def);
}
// strictObject
// @__NO_SIDE_EFFECTS__
function strictObject(shape, params) {
    return new ZodMiniObject({
        type: "object",
        shape,
        catchall: never(),
        ...util.normalizeParams(params),
    });
}
// looseObject
// @__NO_SIDE_EFFECTS__
function looseObject(shape, params) {
    return new ZodMiniObject({
        type: "object",
        shape,
        catchall: unknown(),
        ...util.normalizeParams(params),
    });
}
// object methods
// @__NO_SIDE_EFFECTS__
function schemas_extend(schema, shape) {
    return util.extend(schema, shape);
}
// @__NO_SIDE_EFFECTS__
function schemas_safeExtend(schema, shape) {
    return util.safeExtend(schema, shape);
}
/**
 * @deprecated Use [`z.extend(A, B.shape)`](https://zod.dev/api?id=extend) instead.
 */
// @__NO_SIDE_EFFECTS__
function schemas_merge(a, b) {
    return util.merge(a, b);
}
// @__NO_SIDE_EFFECTS__
function schemas_pick(schema, mask) {
    return util.pick(schema, mask);
}
// .omit
// @__NO_SIDE_EFFECTS__
function schemas_omit(schema, mask) {
    return util.omit(schema, mask);
}
// @__NO_SIDE_EFFECTS__
function schemas_partial(schema, mask) {
    const def = schema._zod.def;
    if (def.type !== "tuple")
        return util.partial(ZodMiniOptional, schema, mask);
    // a refinement was authored against the full arity; partialing would run it on a shorter array
    if (def.checks?.length)
        throw new Error(".partial() cannot be used on tuple schemas containing refinements");
    return util.clone(schema, {
        ...def,
        items: def.items.map((item) => new ZodMiniOptional({ type: "optional", innerType: item })),
    });
}
// @__NO_SIDE_EFFECTS__
function exactPartial(schema, mask) {
    return util.partial(ZodMiniExactOptional, schema, mask, "exactPartial");
}
// @__NO_SIDE_EFFECTS__
function schemas_required(schema, mask) {
    return util.required(ZodMiniNonOptional, schema, mask);
}
// @__NO_SIDE_EFFECTS__
function catchall(inst, catchall) {
    // `mergeDefs` rather than a spread: spreading reads `shape`, and resolving it can mint a whole fresh subtree
    return inst.clone(util.mergeDefs(inst._zod.def, { catchall: catchall }));
}
const ZodMiniUnion = /*@__PURE__*/ (/* unused pure expression or super */ null && (core.$constructor("ZodMiniUnion", (inst, def) => {
    core.$ZodUnion.init(inst, def);
    ZodMiniType.init(inst, def);
})));
// @__NO_SIDE_EFFECTS__
function union(options, params) {
    return new ZodMiniUnion({
        type: "union",
        options: options,
        ...util.normalizeParams(params),
    });
}
const ZodMiniXor = /*@__PURE__*/ (/* unused pure expression or super */ null && (core.$constructor("ZodMiniXor", (inst, def) => {
    ZodMiniUnion.init(inst, def);
    core.$ZodXor.init(inst, def);
})));
/** Creates an exclusive union (XOR) where exactly one option must match.
 * Unlike regular unions that succeed when any option matches, xor fails if
 * zero or more than one option matches the input. */
function xor(options, params) {
    return new ZodMiniXor({
        type: "union",
        options: options,
        inclusive: false,
        ...util.normalizeParams(params),
    });
}
const ZodMiniDiscriminatedUnion = /*@__PURE__*/ (/* unused pure expression or super */ null && (core.$constructor("ZodMiniDiscriminatedUnion", (inst, def) => {
    core.$ZodDiscriminatedUnion.init(inst, def);
    ZodMiniType.init(inst, def);
})));
// @__NO_SIDE_EFFECTS__
function discriminatedUnion(discriminator, options, params) {
    return new ZodMiniDiscriminatedUnion({
        type: "union",
        options: options,
        discriminator,
        ...util.normalizeParams(params),
    });
}
const ZodMiniIntersection = /*@__PURE__*/ (/* unused pure expression or super */ null && (core.$constructor("ZodMiniIntersection", (inst, def) => {
    core.$ZodIntersection.init(inst, def);
    ZodMiniType.init(inst, def);
})));
// @__NO_SIDE_EFFECTS__
function intersection(left, right) {
    return new ZodMiniIntersection({
        type: "intersection",
        left: left,
        right: right,
    });
}
const ZodMiniTuple = /*@__PURE__*/ (/* unused pure expression or super */ null && (core.$constructor("ZodMiniTuple", (inst, def) => {
    core.$ZodTuple.init(inst, def);
    ZodMiniType.init(inst, def);
})));
// @__NO_SIDE_EFFECTS__
function tuple(items, _paramsOrRest, _params) {
    const hasRest = _paramsOrRest instanceof core.$ZodType;
    const params = hasRest ? _params : _paramsOrRest;
    const rest = hasRest ? _paramsOrRest : null;
    return new ZodMiniTuple({
        type: "tuple",
        items: items,
        rest,
        ...util.normalizeParams(params),
    });
}
const ZodMiniRecord = /*@__PURE__*/ (/* unused pure expression or super */ null && (core.$constructor("ZodMiniRecord", (inst, def) => {
    core.$ZodRecord.init(inst, def);
    ZodMiniType.init(inst, def);
})));
// @__NO_SIDE_EFFECTS__
function record(keyType, valueType, params) {
    // v3-compat: z.record(valueType, params?) — defaults keyType to z.string()
    if (!valueType || !valueType._zod) {
        return new ZodMiniRecord({
            type: "record",
            keyType: schemas_string(),
            valueType: keyType,
            ...util.normalizeParams(valueType),
        });
    }
    return new ZodMiniRecord({
        type: "record",
        keyType,
        valueType: valueType,
        ...util.normalizeParams(params),
    });
}
// @__NO_SIDE_EFFECTS__
function partialRecord(keyType, valueType, params) {
    return new ZodMiniRecord({
        type: "record",
        keyType,
        valueType: valueType,
        ...util.normalizeParams(params),
        partial: true,
    });
}
function looseRecord(keyType, valueType, params) {
    return new ZodMiniRecord({
        type: "record",
        keyType,
        valueType: valueType,
        mode: "loose",
        ...util.normalizeParams(params),
    });
}
const ZodMiniMap = /*@__PURE__*/ (/* unused pure expression or super */ null && (core.$constructor("ZodMiniMap", (inst, def) => {
    core.$ZodMap.init(inst, def);
    ZodMiniType.init(inst, def);
})));
// @__NO_SIDE_EFFECTS__
function map(keyType, valueType, params) {
    return new ZodMiniMap({
        type: "map",
        keyType: keyType,
        valueType: valueType,
        ...util.normalizeParams(params),
    });
}
const ZodMiniSet = /*@__PURE__*/ (/* unused pure expression or super */ null && (core.$constructor("ZodMiniSet", (inst, def) => {
    core.$ZodSet.init(inst, def);
    ZodMiniType.init(inst, def);
})));
// @__NO_SIDE_EFFECTS__
function set(valueType, params) {
    return new ZodMiniSet({
        type: "set",
        valueType: valueType,
        ...util.normalizeParams(params),
    });
}
const ZodMiniEnum = /*@__PURE__*/ $constructor("ZodMiniEnum", (inst, def) => {
    $ZodEnum.init(inst, def);
    ZodMiniType.init(inst, def);
    // reuse the parsed value set so a numeric TS enum's reverse-mapping keys stay out
    inst.options = [...inst._zod.values];
});
// @__NO_SIDE_EFFECTS__
function schemas_enum(values, params) {
    const entries = Array.isArray(values) ? Object.fromEntries(values.map((v) => [v, v])) : values;
    return new ZodMiniEnum({
        type: "enum",
        entries,
        ...normalizeParams(params),
    });
}

// @__NO_SIDE_EFFECTS__
/** @deprecated This API has been merged into `z.enum()`. Use `z.enum()` instead.
 *
 * ```ts
 * enum Colors { red, green, blue }
 * z.enum(Colors);
 * ```
 */
function nativeEnum(entries, params) {
    return new ZodMiniEnum({
        type: "enum",
        entries,
        ...util.normalizeParams(params),
    });
}
const ZodMiniLiteral = /*@__PURE__*/ (/* unused pure expression or super */ null && (core.$constructor("ZodMiniLiteral", (inst, def) => {
    core.$ZodLiteral.init(inst, def);
    ZodMiniType.init(inst, def);
})));
// @__NO_SIDE_EFFECTS__
function literal(value, params) {
    return new ZodMiniLiteral({
        type: "literal",
        values: Array.isArray(value) ? value : [value],
        ...util.normalizeParams(params),
    });
}
const ZodMiniFile = /*@__PURE__*/ (/* unused pure expression or super */ null && (core.$constructor("ZodMiniFile", (inst, def) => {
    core.$ZodFile.init(inst, def);
    ZodMiniType.init(inst, def);
})));
// @__NO_SIDE_EFFECTS__
function file(params) {
    return core._file(ZodMiniFile, params);
}
const ZodMiniTransform = /*@__PURE__*/ $constructor("ZodMiniTransform", (inst, def) => {
    $ZodTransform.init(inst, def);
    ZodMiniType.init(inst, def);
});
// @__NO_SIDE_EFFECTS__
function transform(fn) {
    return new ZodMiniTransform({
        type: "transform",
        transform: fn,
    });
}
const ZodMiniOptional = /*@__PURE__*/ $constructor("ZodMiniOptional", (inst, def) => {
    $ZodOptional.init(inst, def);
    ZodMiniType.init(inst, def);
});
// @__NO_SIDE_EFFECTS__
function optional(innerType) {
    return new ZodMiniOptional({
        type: "optional",
        innerType: innerType,
    });
}
const ZodMiniExactOptional = /*@__PURE__*/ (/* unused pure expression or super */ null && (core.$constructor("ZodMiniExactOptional", (inst, def) => {
    core.$ZodExactOptional.init(inst, def);
    ZodMiniType.init(inst, def);
})));
// @__NO_SIDE_EFFECTS__
function exactOptional(innerType) {
    return new ZodMiniExactOptional({
        type: "optional",
        innerType: innerType,
    });
}
const ZodMiniNullable = /*@__PURE__*/ (/* unused pure expression or super */ null && (core.$constructor("ZodMiniNullable", (inst, def) => {
    core.$ZodNullable.init(inst, def);
    ZodMiniType.init(inst, def);
})));
// @__NO_SIDE_EFFECTS__
function nullable(innerType) {
    return new ZodMiniNullable({
        type: "nullable",
        innerType: innerType,
    });
}
// nullish
// @__NO_SIDE_EFFECTS__
function schemas_nullish(innerType) {
    return optional(nullable(innerType));
}
const ZodMiniDefault = /*@__PURE__*/ $constructor("ZodMiniDefault", (inst, def) => {
    $ZodDefault.init(inst, def);
    ZodMiniType.init(inst, def);
});
// @__NO_SIDE_EFFECTS__
function schemas_default(innerType, defaultValue) {
    return new ZodMiniDefault({
        type: "default",
        innerType: innerType,
        get defaultValue() {
            return typeof defaultValue === "function" ? defaultValue() : shallowClone(defaultValue);
        },
    });
}
const ZodMiniPrefault = /*@__PURE__*/ (/* unused pure expression or super */ null && (core.$constructor("ZodMiniPrefault", (inst, def) => {
    core.$ZodPrefault.init(inst, def);
    ZodMiniType.init(inst, def);
})));
// @__NO_SIDE_EFFECTS__
function prefault(innerType, defaultValue) {
    return new ZodMiniPrefault({
        type: "prefault",
        innerType: innerType,
        get defaultValue() {
            return typeof defaultValue === "function" ? defaultValue() : util.shallowClone(defaultValue);
        },
    });
}
const ZodMiniNonOptional = /*@__PURE__*/ (/* unused pure expression or super */ null && (core.$constructor("ZodMiniNonOptional", (inst, def) => {
    core.$ZodNonOptional.init(inst, def);
    ZodMiniType.init(inst, def);
})));
// @__NO_SIDE_EFFECTS__
function nonoptional(innerType, params) {
    return new ZodMiniNonOptional({
        type: "nonoptional",
        innerType: innerType,
        ...util.normalizeParams(params),
    });
}
const ZodMiniSuccess = /*@__PURE__*/ (/* unused pure expression or super */ null && (core.$constructor("ZodMiniSuccess", (inst, def) => {
    core.$ZodSuccess.init(inst, def);
    ZodMiniType.init(inst, def);
})));
// @__NO_SIDE_EFFECTS__
function success(innerType) {
    return new ZodMiniSuccess({
        type: "success",
        innerType: innerType,
    });
}
const ZodMiniCatch = /*@__PURE__*/ (/* unused pure expression or super */ null && (core.$constructor("ZodMiniCatch", (inst, def) => {
    core.$ZodCatch.init(inst, def);
    ZodMiniType.init(inst, def);
})));
// @__NO_SIDE_EFFECTS__
function schemas_catch(innerType, catchValue) {
    return new ZodMiniCatch({
        type: "catch",
        innerType: innerType,
        catchValue: (typeof catchValue === "function" ? catchValue : core.util.constantCatch(catchValue)),
    });
}

const ZodMiniNaN = /*@__PURE__*/ (/* unused pure expression or super */ null && (core.$constructor("ZodMiniNaN", (inst, def) => {
    core.$ZodNaN.init(inst, def);
    ZodMiniType.init(inst, def);
})));
// @__NO_SIDE_EFFECTS__
function nan(params) {
    return core._nan(ZodMiniNaN, params);
}
const ZodMiniPipe = /*@__PURE__*/ $constructor("ZodMiniPipe", (inst, def) => {
    $ZodPipe.init(inst, def);
    ZodMiniType.init(inst, def);
});
// @__NO_SIDE_EFFECTS__
function pipe(in_, out) {
    return new ZodMiniPipe({
        type: "pipe",
        in: in_,
        out: out,
    });
}
const ZodMiniCodec = /*@__PURE__*/ (/* unused pure expression or super */ null && (core.$constructor("ZodMiniCodec", (inst, def) => {
    ZodMiniPipe.init(inst, def);
    core.$ZodCodec.init(inst, def);
})));
// @__NO_SIDE_EFFECTS__
function codec(in_, out, params) {
    return new ZodMiniCodec({
        type: "pipe",
        in: in_,
        out: out,
        transform: params.decode,
        reverseTransform: params.encode,
    });
}
// @__NO_SIDE_EFFECTS__
function invertCodec(codec) {
    const def = codec._zod.def;
    return new ZodMiniCodec({
        type: "pipe",
        in: def.out,
        out: def.in,
        transform: def.reverseTransform,
        reverseTransform: def.transform,
    });
}
const ZodMiniReadonly = /*@__PURE__*/ (/* unused pure expression or super */ null && (core.$constructor("ZodMiniReadonly", (inst, def) => {
    core.$ZodReadonly.init(inst, def);
    ZodMiniType.init(inst, def);
})));
// @__NO_SIDE_EFFECTS__
function readonly(innerType) {
    return new ZodMiniReadonly({
        type: "readonly",
        innerType: innerType,
    });
}
const ZodMiniTemplateLiteral = /*@__PURE__*/ (/* unused pure expression or super */ null && (core.$constructor("ZodMiniTemplateLiteral", (inst, def) => {
    core.$ZodTemplateLiteral.init(inst, def);
    ZodMiniType.init(inst, def);
})));
// @__NO_SIDE_EFFECTS__
function templateLiteral(parts, params) {
    return new ZodMiniTemplateLiteral({
        type: "template_literal",
        parts,
        ...util.normalizeParams(params),
    });
}
const ZodMiniLazy = /*@__PURE__*/ (/* unused pure expression or super */ null && (core.$constructor("ZodMiniLazy", (inst, def) => {
    core.$ZodLazy.init(inst, def);
    ZodMiniType.init(inst, def);
})));
// export function lazy<T extends object>(getter: () => T): T {
//   return util.createTransparentProxy<T>(getter);
// }
// @__NO_SIDE_EFFECTS__
function schemas_lazy(getter) {
    return new ZodMiniLazy({
        type: "lazy",
        getter: getter,
    });
}

const ZodMiniPromise = /*@__PURE__*/ (/* unused pure expression or super */ null && (core.$constructor("ZodMiniPromise", (inst, def) => {
    core.$ZodPromise.init(inst, def);
    ZodMiniType.init(inst, def);
})));
// @__NO_SIDE_EFFECTS__
function promise(innerType) {
    return new ZodMiniPromise({
        type: "promise",
        innerType: innerType,
    });
}
const ZodMiniCustom = /*@__PURE__*/ $constructor("ZodMiniCustom", (inst, def) => {
    $ZodCustom.init(inst, def);
    ZodMiniType.init(inst, def);
});
// custom checks
// @__NO_SIDE_EFFECTS__
function check(fn, params) {
    const ch = new core.$ZodCheck({
        check: "custom",
        ...util.normalizeParams(params),
    });
    ch._zod.check = fn;
    return ch;
}
// ZodCustom custom schema
// @__NO_SIDE_EFFECTS__
function custom(fn, _params) {
    return core._custom(ZodMiniCustom, fn ?? (() => true), _params);
}
// refine
// @__NO_SIDE_EFFECTS__
function refine(fn, _params = {}) {
    return _refine(ZodMiniCustom, fn, _params);
}
// superRefine
// @__NO_SIDE_EFFECTS__
function superRefine(fn, params) {
    return _superRefine(fn, params);
}
// Re-export describe and meta from core
const schemas_describe = api_describe;
const schemas_meta = meta;
// instanceof
class schemas_Class {
    constructor(..._args) { }
}
// @__NO_SIDE_EFFECTS__
function _instanceof(cls, params = {}) {
    const inst = custom((data) => data instanceof cls, params);
    inst._zod.bag.Class = cls;
    // Override check to emit invalid_type instead of custom
    inst._zod.check = (payload) => {
        if (!(payload.value instanceof cls)) {
            payload.issues.push({
                code: "invalid_type",
                expected: cls.name,
                input: payload.value,
                inst,
                path: [...(inst._zod.def.path ?? [])],
            });
        }
    };
    return inst;
}

// stringbool
const stringbool = (...args) => core._stringbool({
    Codec: ZodMiniCodec,
    Boolean: ZodMiniBoolean,
    String: ZodMiniString,
}, ...args);
// @__NO_SIDE_EFFECTS__
function json() {
    const jsonSchema = schemas_lazy(() => {
        return union([schemas_string(), schemas_number(), schemas_boolean(), schemas_null(), array(jsonSchema), record(schemas_string(), jsonSchema)]);
    });
    return jsonSchema;
}
const ZodMiniFunction = /*@__PURE__*/ (/* unused pure expression or super */ null && (core.$constructor("ZodMiniFunction", (inst, def) => {
    core.$ZodFunction.init(inst, def);
    ZodMiniType.init(inst, def);
})));
// @__NO_SIDE_EFFECTS__
function _function(params) {
    return new ZodMiniFunction({
        type: "function",
        input: Array.isArray(params?.input) ? tuple(params?.input) : (params?.input ?? array(unknown())),
        output: params?.output ?? unknown(),
    });
}


;// CONCATENATED MODULE: ./src/config/database-url.ts


const LOCAL_HOSTS = new Set(['localhost', '127.0.0.1', '::1', '[::1]']);
/** Supabase's transaction-mode pooler (Supavisor/PgBouncer) listens here; the session pooler on 5432. */
const TRANSACTION_POOLER_PORT = 6543;
const SSL_MODES = ['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full'];
/**
 * Parses a database URL the way libpq documents it, but with a safe default: a host that is not
 * on this machine gets `verify-full` TLS unless the URL asks for something else.
 */
function parseDatabaseUrl(raw) {
    let url;
    try {
        url = new URL(raw);
    }
    catch {
        return {
            ok: false,
            reason: 'it is not a valid URL (expected postgres://user:password@host:port/database)',
        };
    }
    if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
        return { ok: false, reason: `the scheme is "${url.protocol}" but must be postgres:// or postgresql://` };
    }
    const params = url.searchParams;
    const socketDir = params.get('host') ?? undefined;
    const host = socketDir ?? stripBrackets(url.hostname);
    if (!host)
        return { ok: false, reason: 'it names no host' };
    const port = url.port ? Number(url.port) : Number(params.get('port') ?? 5432);
    if (!Number.isInteger(port) || port <= 0 || port > 65535) {
        return { ok: false, reason: `the port "${url.port || params.get('port')}" is not a valid TCP port` };
    }
    if (port === TRANSACTION_POOLER_PORT) {
        return {
            ok: false,
            reason: `port ${TRANSACTION_POOLER_PORT} is Supabase's transaction-mode pooler, which hands each transaction ` +
                'to a different server connection: the advisory lock that keeps runs apart and the session settings ' +
                '(lock_timeout, statement_timeout) would not hold. Use the session pooler instead: the same pooler ' +
                'host on port 5432 (Supabase dashboard → Connect → Session pooler), or the direct connection.' +
                seeTroubleshooting('transaction-pooler-port-6543-refused'),
        };
    }
    const decoded = (text) => {
        try {
            return decodeURIComponent(text);
        }
        catch {
            return undefined;
        }
    };
    const user = decoded(url.username) ?? '';
    const password = url.password ? decoded(url.password) : (params.get('password') ?? undefined);
    const database = decoded(url.pathname.replace(/^\//, ''));
    if (user === undefined || (url.password && password === undefined) || database === undefined) {
        return {
            ok: false,
            reason: 'it contains a "%" that is not a valid percent-escape: percent-encode special characters in the password (e.g. % as %25, @ as %40)',
        };
    }
    const userName = user || params.get('user') || '';
    if (!userName)
        return { ok: false, reason: 'it names no user (postgres://USER:password@host/database)' };
    const databaseName = database || params.get('dbname') || userName;
    const local = LOCAL_HOSTS.has(host) || host.startsWith('/');
    const requested = params.get('sslmode');
    if (requested !== null && !SSL_MODES.includes(requested)) {
        return { ok: false, reason: `sslmode "${requested}" is not one of ${SSL_MODES.join(', ')}` };
    }
    const sslmode = requested ?? (local ? 'disable' : 'verify-full');
    const ssl = tlsOptions(sslmode, host, params.get('sslrootcert'));
    if ('reason' in ssl)
        return { ok: false, reason: ssl.reason };
    return {
        ok: true,
        target: {
            host,
            port,
            user: userName,
            password,
            database: databaseName,
            ssl: ssl.value,
            sslmode,
            sslRootCert: params.get('sslrootcert') ?? undefined,
            display: `${host}:${port}/${databaseName}`,
        },
    };
}
function tlsOptions(mode, host, rootCertPath) {
    if (mode === 'disable' || mode === 'allow')
        return { value: false };
    let ca;
    if (rootCertPath) {
        try {
            ca = (0,external_node_fs_.readFileSync)(rootCertPath, 'utf8');
        }
        catch {
            return { reason: `sslrootcert "${rootCertPath}" cannot be read` };
        }
    }
    // libpq's `prefer` and `require` encrypt without checking the certificate; keep that meaning
    // because users copy these URLs from libpq tools, but only when they ask for it explicitly.
    if (mode === 'prefer' || mode === 'require')
        return { value: { rejectUnauthorized: false } };
    const options = { rejectUnauthorized: true, ...(ca ? { ca } : {}) };
    if (mode === 'verify-ca')
        options.checkServerIdentity = () => undefined;
    else
        options.servername = host;
    return { value: options };
}
function stripBrackets(hostname) {
    return hostname.startsWith('[') && hostname.endsWith(']') ? hostname.slice(1, -1) : hostname;
}

;// CONCATENATED MODULE: ./src/config/duration.ts
const UNITS = { ms: 1, s: 1000, m: 60_000, min: 60_000, h: 3_600_000 };
/**
 * Reads "500ms", "2s", "5m", "1h" or a bare number of milliseconds, unrounded ("0.4ms" is 0.4);
 * undefined when malformed. Validation needs the exact value: a sub-millisecond duration rounds to 0.
 */
function exactDurationMs(text) {
    const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|min|h)?\s*$/.exec(text);
    if (!match)
        return undefined;
    return Number(match[1]) * UNITS[match[2] ?? 'ms'];
}
/** Parses a duration into whole milliseconds (PostgreSQL's unit for its timeouts); undefined when malformed. */
function parseDuration(text) {
    const exact = exactDurationMs(text);
    return exact === undefined ? undefined : Math.round(exact);
}

;// CONCATENATED MODULE: ./src/config/rate-limit.ts
const UNIT_MS = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
/** A window longer than this is a typo more often than a policy, and the audit query scans it. */
const MAX_WINDOW_MS = 30 * 86_400_000;
const FORMAT_HELP = 'use COUNT/WINDOW, a whole number of runs per window in s, m, h or d (e.g. 1/10m, 3/1h, 10/1d), or 0 for no limit';
/**
 * Reads `rate-limit`: "1/10m" (one run per ten minutes), "3/1h", or "0" (off). A bare duration
 * ("10m") reads as one run per that window, the common case written short.
 */
function parseRateLimit(text) {
    const trimmed = text.trim().toLowerCase();
    if (trimmed === '0' || trimmed === 'off')
        return { ok: true, limit: undefined };
    const match = /^(?:(\d+)\s*\/\s*)?(\d+)\s*(s|m|h|d)$/.exec(trimmed);
    if (!match)
        return { ok: false, problem: `"${text}" is not a rate limit: ${FORMAT_HELP}` };
    const count = match[1] === undefined ? 1 : Number(match[1]);
    const windowMs = Number(match[2]) * UNIT_MS[match[3]];
    if (count === 0)
        return { ok: true, limit: undefined };
    if (count > 1000)
        return { ok: false, problem: `"${text}": at most 1000 runs per window (${FORMAT_HELP})` };
    if (windowMs === 0)
        return { ok: false, problem: `"${text}": the window must be longer than 0 (${FORMAT_HELP})` };
    if (windowMs > MAX_WINDOW_MS)
        return { ok: false, problem: `"${text}": the window may be at most 30d (${FORMAT_HELP})` };
    return { ok: true, limit: { count, windowMs, text: `${count}/${match[2]}${match[3]}` } };
}

;// CONCATENATED MODULE: ./src/config/settings.ts




const COMMANDS = ['plan', 'apply', 'rollback', 'status', 'backup', 'audit', 'baseline'];
const TRANSACTION_MODES = ['all', 'per-file'];
/** The outcomes an alert can be sent for: a run's status, or `refused` for a refused manual run. */
const NOTIFY_OUTCOMES = [
    'failed',
    'rolled-back',
    'success',
    'refused',
    'cancelled',
    'nothing-to-do',
];
const BACKUP_MODES = ['required', 'optional', 'off'];
/** Every input by its action.yml name: the one list the CLI flags and the action reader share. */
const INPUT_NAMES = [
    'command',
    'database-url',
    'migrations-dir',
    'environment',
    'transaction-mode',
    'lock-timeout',
    'lock-retries',
    'statement-timeout',
    'run-lock-timeout',
    'allow-out-of-order',
    'target-version',
    'count',
    'strategy',
    'backup',
    'backup-dir',
    'pg-dump-path',
    'backup-path',
    'confirm-restore',
    'report-path',
    'reason',
    'since',
    'until',
    'comment',
    'github-token',
    'allowed-roles',
    'rate-limit',
    'notify-webhook-url',
    'notify-on',
];
const blankToUndefined = (v) => (typeof v === 'string' && v.trim() === '' ? undefined : v);
/** An input left blank counts as not given (GitHub passes every declared input, empty when unset). */
const input = (schema) => pipe(transform(blankToUndefined), schema);
const optionalText = input(optional(schemas_string().check(_trim())));
/**
 * A duration input. PostgreSQL counts its timeouts in whole milliseconds and reads 0 as "no
 * timeout", so a value under 1ms (other than 0 itself) is refused: it would round to 0 and switch
 * the protection off. `zeroMeansNone` (statement-timeout): an explicit 0 is accepted and means no
 * timeout, as in PostgreSQL, the same as leaving the input out.
 */
function settings_duration(fallback, limits = {}) {
    const { min = 0, max = 24 * 3_600_000, zeroMeansNone = false } = limits;
    const problemWith = (text) => {
        const exact = exactDurationMs(text);
        if (exact === undefined)
            return `"${text}" is not a duration: use a number with ms, s, m or h, e.g. 500ms, 2s, 5m`;
        const ms = Math.round(exact);
        return ms > max
            ? `"${text}" is longer than the limit of ${formatMs(max)}`
            : exact > 0 && exact < 1
                ? `"${text}" is shorter than 1ms: PostgreSQL counts whole milliseconds, so it would become 0, which means no timeout at all${zeroMeansNone ? ' (write 0 to mean that)' : ''}`
                : ms < min
                    ? `"${text}" is too short: at least ${formatMs(min)} (0 would mean waiting forever)`
                    : undefined;
    };
    return input(pipe(optional(schemas_string()).check(superRefine((value, ctx) => {
        const text = value ?? fallback;
        const problem = text === undefined ? undefined : problemWith(text);
        if (problem)
            ctx.addIssue({ code: 'custom', message: problem, input: value });
    })), transform((value) => {
        const text = value ?? fallback;
        const ms = text === undefined ? undefined : parseDuration(text);
        return zeroMeansNone && ms === 0 ? undefined : ms;
    })));
}
function formatMs(ms) {
    return ms >= 60_000 && ms % 60_000 === 0
        ? `${ms / 60_000}m`
        : ms >= 1000 && ms % 1000 === 0
            ? `${ms / 1000}s`
            : `${ms}ms`;
}
function wholeNumber(message, min, max) {
    return pipe(pipe(schemas_string().check(_regex(/^\s*\d+\s*$/, message)), transform(Number)), schemas_number().check(schemas_int({ error: message }), _gte(min, message), _lte(max, message)));
}
const BOOLEAN_WORDS = ['true', 'false', 'True', 'False', 'TRUE', 'FALSE'];
function settings_boolean(fallback) {
    return input(pipe(optional(schemas_enum(BOOLEAN_WORDS, {
        error: (issue) => `"${String(issue.input)}" is not a boolean: use true or false`,
    })), transform((v) => v === undefined ? fallback : v.toLowerCase() === 'true')));
}
function oneOf(values, fallback) {
    return input(schemas_default(schemas_enum(values, {
        error: (issue) => `"${String(issue.input)}" is not accepted: use one of ${values.join(', ')}`,
    }), fallback));
}
const TIMESTAMP_HELP = 'must be a date or time in ISO 8601 (2026-01-31, 2026-01-31T12:00:00Z) or a span back from now (7d, 12h, 30m)';
/** An ISO 8601 date/time, or a span back from now ("7d", "12h", "30m"). */
function timestamp(text, now = Date.now()) {
    if (text === undefined)
        return undefined;
    const span = /^\s*(\d+)\s*(d|h|m)\s*$/.exec(text);
    if (span) {
        const unit = { d: 86_400_000, h: 3_600_000, m: 60_000 }[span[2]];
        return new Date(now - Number(span[1]) * unit);
    }
    if (!/^\d{4}-\d{2}-\d{2}([T ][\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(text.trim()))
        return undefined;
    const parsed = new Date(text.trim());
    return Number.isNaN(parsed.getTime()) ? undefined : parsed;
}
// zod/mini: the same validation as zod's classic API, a third of the bundle's evaluation time.
const schema = object({
    command: input(schemas_default(schemas_enum(['auto', ...COMMANDS], {
        error: (issue) => `unknown command "${String(issue.input)}": use one of auto, ${COMMANDS.join(', ')}`,
    }), 'auto')),
    'database-url': input(schemas_string({ error: 'is required: pass the database connection URL (postgres://…), from a secret' })),
    'migrations-dir': input(schemas_default(schemas_string(), 'supabase/migrations')),
    environment: input(schemas_default(schemas_string()
        .check(_maxLength(63, 'must be at most 63 characters'), _regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, 'may hold letters, digits, ".", "_" and "-" only')), 'default')),
    'transaction-mode': oneOf(TRANSACTION_MODES, 'all'),
    'lock-timeout': settings_duration('2s', { min: 1, max: 10 * 60_000 }),
    'lock-retries': input(schemas_default(wholeNumber('must be a whole number from 0 to 50', 0, 50), 5)),
    'statement-timeout': settings_duration(undefined, { zeroMeansNone: true }),
    'run-lock-timeout': settings_duration('2m', { min: 1, max: 6 * 3_600_000 }),
    'allow-out-of-order': settings_boolean(false),
    'target-version': input(optional(schemas_string().check(_trim(), _regex(/^(\d+|all)$/, {
        error: (issue) => `"${String(issue.input)}" is not a migration version: digits only (the start of a file name), e.g. 20240101120000; baseline also takes all`,
    })))),
    count: input(optional(wholeNumber('must be a whole number of migrations from 1 to 10000', 1, 10_000))),
    strategy: oneOf(['down', 'restore'], 'down'),
    backup: input(optional(schemas_enum(BACKUP_MODES, {
        error: (issue) => `"${String(issue.input)}" is not accepted: use one of ${BACKUP_MODES.join(', ')}`,
    }))),
    'backup-dir': optionalText,
    'pg-dump-path': optionalText,
    'backup-path': optionalText,
    'confirm-restore': optionalText,
    'report-path': optionalText,
    reason: optionalText,
    since: input(optional(schemas_string().check(refine((v) => timestamp(v) !== undefined, TIMESTAMP_HELP)))),
    until: input(optional(schemas_string().check(refine((v) => timestamp(v) !== undefined, TIMESTAMP_HELP)))),
    comment: settings_boolean(true),
    'github-token': input(optional(schemas_string().check(_trim()))),
    'allowed-roles': input(schemas_default(schemas_string()
        .check(refine((v) => commaList(v).length > 0 && commaList(v).every((r) => /^[a-z0-9][a-z0-9 _-]*$/.test(r)), 'must be a comma-separated list of repository roles, e.g. admin,maintain (role names as GitHub gives them: admin, maintain, write, triage, read, or a custom role)')), 'admin,maintain')),
    'rate-limit': input(schemas_default(schemas_string().check(superRefine((value, ctx) => {
        const parsed = parseRateLimit(value);
        if (!parsed.ok)
            ctx.addIssue({ code: 'custom', message: parsed.problem, input: value });
    })), '1/10m')),
    'notify-webhook-url': input(optional(schemas_string().check(_trim(), 
    // The URL itself is a secret: the message never quotes it.
    refine((v) => /^https?:\/\/[^\s/]+/i.test(v) && URL.canParse(v), {
        error: 'is not an http(s) URL: give the incoming webhook URL of your Slack or Teams channel, from a secret',
    })))),
    'notify-on': input(schemas_default(schemas_string().check(superRefine((value, ctx) => {
        const unknown = commaList(value).filter((v) => !NOTIFY_OUTCOMES.includes(v));
        if (unknown.length > 0 || commaList(value).length === 0)
            ctx.addIssue({
                code: 'custom',
                message: `${unknown.length ? `"${unknown.join(', ')}" is not accepted` : 'is empty'}: use a comma-separated list of ${NOTIFY_OUTCOMES.join(', ')}`,
                input: value,
            });
    })), 'failed,rolled-back')),
});
/** "admin, Maintain" → ["admin", "maintain"]: role names and outcomes compare in lower case. */
function commaList(text) {
    return text
        .split(',')
        .map((item) => item.trim().toLowerCase())
        .filter(Boolean);
}
/**
 * Turns raw inputs into Settings, or throws one error listing every bad input with what is accepted.
 * Nothing here touches the network or the database.
 */
function parseSettings(raw, context = {}) {
    const result = schema.safeParse(raw);
    if (!result.success) {
        const lines = result.error.issues.map((issue) => `  ${String(issue.path[0] ?? 'input')}: ${issue.message}`);
        throw new SettingsError(`Invalid input:\n${lines.join('\n')}`);
    }
    const v = result.data;
    const parsedUrl = parseDatabaseUrl(v['database-url']);
    if (!parsedUrl.ok)
        throw new SettingsError(`Invalid input:\n  database-url: ${parsedUrl.reason}`);
    const isPullRequest = context.eventName === 'pull_request' || context.eventName === 'pull_request_target';
    const command = v.command === 'auto' ? (isPullRequest ? 'plan' : 'apply') : v.command;
    if (command === 'rollback' && v['target-version'] && v.count) {
        throw new SettingsError('Invalid input:\n  count: give either count or target-version for a rollback, not both');
    }
    if (command === 'baseline' && !v['target-version']) {
        // Marking files applied without running them is only undone by hand: never by default, nor
        // from an empty value (an unset variable, or an input GitHub passes blank when it is not given).
        throw new SettingsError('Invalid input:\n  target-version: baseline needs it: the newest migration version the database already has ' +
            '(files up to it are marked applied without running them), or all to mark every file in migrations-dir');
    }
    if (command === 'rollback' && v['target-version'] === 'all') {
        throw new SettingsError('Invalid input:\n  target-version: all is for baseline only; for rollback give the newest version to keep, or count');
    }
    if (command === 'rollback' && v.strategy === 'restore' && !v['backup-path']) {
        throw new SettingsError('Invalid input:\n  backup-path: strategy restore needs the path of the backup to restore');
    }
    return {
        command,
        database: parsedUrl.target,
        databaseUrl: v['database-url'],
        migrationsDir: v['migrations-dir'],
        environment: v.environment,
        transactionMode: v['transaction-mode'],
        lockTimeoutMs: v['lock-timeout'],
        lockRetries: v['lock-retries'],
        lockRetryBaseMs: 500,
        statementTimeoutMs: v['statement-timeout'],
        runLockTimeoutMs: v['run-lock-timeout'],
        allowOutOfOrder: v['allow-out-of-order'],
        targetVersion: v['target-version'],
        count: v.count,
        strategy: v.strategy,
        // Changing commands default to a verified backup first; the others never need one.
        backup: v.backup ?? (command === 'apply' || command === 'rollback' ? 'required' : 'off'),
        backupDir: v['backup-dir'],
        pgDumpPath: v['pg-dump-path'],
        backupPath: v['backup-path'],
        confirmRestore: v['confirm-restore'],
        reportPath: v['report-path'],
        reason: v.reason,
        since: timestamp(v.since),
        until: timestamp(v.until),
        comment: v.comment,
        githubToken: v['github-token'],
        allowedRoles: commaList(v['allowed-roles']),
        rateLimit: parseRateLimit(v['rate-limit']).limit,
        notifyWebhookUrl: v['notify-webhook-url'],
        notifyOn: commaList(v['notify-on']),
    };
}
class SettingsError extends Error {
    constructor(message) {
        super(message);
        this.name = 'SettingsError';
    }
}

;// CONCATENATED MODULE: ./src/report/alert.ts

/** Longest error quoted: a chat message is a pointer to the run, not the report. */
const MAX_ERROR = 600;
/** Versions listed before "and N more". */
const MAX_VERSIONS = 20;
/** The outcome an alert is about: a refused manual run is `refused`, otherwise the run's status. */
function alertOutcome(result) {
    return result.refusal ? 'refused' : result.status;
}
const HEADLINE = {
    success: (r) => `✅ ${r.command} succeeded${r.applied.length ? `: ${plural(r.applied.length, 'migration')} applied` : ''}`,
    'nothing-to-do': (r) => `💤 ${r.command}: nothing to do`,
    failed: (r) => `❌ ${r.command} failed`,
    'rolled-back': (r) => r.command === 'rollback'
        ? `↩️ rollback: ${r.rollback?.reverted.length ?? 0} reverted`
        : `↩️ ${r.command} failed and was rolled back`,
    cancelled: (r) => `⏹️ ${r.command} cancelled`,
    refused: (r) => `⛔ manual ${r.command} refused`,
};
/** What the message says, whatever its format. */
function alertMessage(result, context) {
    const outcome = alertOutcome(result);
    const facts = [];
    const add = (name, value) => {
        if (value)
            facts.push({ name, value });
    };
    add('Environment', result.environment);
    add('Outcome', outcome);
    add('Repository', context.repository);
    add('Actor', context.actor && `${context.actor}${context.eventName ? ` (${context.eventName})` : ''}`);
    add('Reason', context.reason);
    if (result.refusal) {
        const r = result.refusal;
        add('Role', r.role ?? 'unknown');
        add('Allowed roles', r.allowedRoles.join(', '));
        add('Next allowed run', r.nextAllowedAt);
    }
    add('Failing file', failingFile(result));
    if (outcome !== 'success' && outcome !== 'nothing-to-do')
        add('Error', result.error && cut(oneLine(result.error.message), MAX_ERROR));
    if (!result.refusal)
        add('Applied', versions(result.applied));
    const reverted = result.rollback?.reverted ?? [];
    if (reverted.length)
        add('Rolled back', versions(reverted));
    else if (outcome === 'rolled-back')
        add('Rolled back', versions(result.migrations.filter((m) => m.status === 'rolled-back').map((m) => m.version)));
    if (result.rollback?.nextStep)
        add('Next step', cut(oneLine(result.rollback.nextStep), MAX_ERROR));
    return {
        outcome,
        title: `Migration guard · ${result.environment} · ${HEADLINE[outcome](result)}`,
        facts,
        runUrl: result.runUrl,
    };
}
/** The webhook body for `format`. */
function renderAlert(result, context, format) {
    const message = alertMessage(result, context);
    return format === 'teams' ? teamsCard(message) : slackText(message);
}
function slackText(m) {
    const lines = [`*${slack(m.title)}*`, ...m.facts.map((f) => `*${f.name}:* ${slack(f.value)}`)];
    if (m.runUrl)
        lines.push(`<${slack(m.runUrl)}|View the run>`);
    return { text: lines.join('\n') };
}
/** Slack's mrkdwn control characters, escaped as Slack documents (only these three). */
function slack(text) {
    return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
function teamsCard(m) {
    const bad = m.outcome !== 'success' && m.outcome !== 'nothing-to-do';
    return {
        type: 'message',
        attachments: [
            {
                contentType: 'application/vnd.microsoft.card.adaptive',
                contentUrl: null,
                content: {
                    $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
                    type: 'AdaptiveCard',
                    version: '1.4',
                    body: [
                        {
                            type: 'TextBlock',
                            text: m.title,
                            weight: 'Bolder',
                            size: 'Medium',
                            wrap: true,
                            ...(bad && { color: 'Attention' }),
                        },
                        { type: 'FactSet', facts: m.facts.map((f) => ({ title: f.name, value: f.value })) },
                    ],
                    ...(m.runUrl && { actions: [{ type: 'Action.OpenUrl', title: 'View the run', url: m.runUrl }] }),
                },
            },
        ],
    };
}
function failingFile(result) {
    const error = result.error;
    const failed = result.migrations.find((m) => m.status === 'failed' || m.status === 'partially-applied');
    const file = error?.file ?? failed?.error?.file ?? failed?.file;
    if (!file)
        return undefined;
    const line = error?.file ? error.line : failed?.error?.line;
    return line ? `${file}:${line}` : file;
}
function versions(list) {
    if (list.length === 0)
        return 'none';
    const shown = list.slice(0, MAX_VERSIONS).join(', ');
    return list.length > MAX_VERSIONS ? `${shown} and ${list.length - MAX_VERSIONS} more` : shown;
}
function oneLine(text) {
    return text.replace(/\s*\r?\n\s*/g, ' ').trim();
}
function plural(n, word) {
    return `${n} ${word}${n === 1 ? '' : 's'}`;
}

;// CONCATENATED MODULE: ./src/proxy.ts
/**
 * The HTTP(S) proxy of self-hosted runners, read as @actions/http-client reads it: shared by our
 * GitHub client (github/api.ts) and the alert sender (notify/webhook.ts).
 */
/** The proxy URL for `target` under the runner's proxy variables, or undefined to go direct. */
function proxyFor(target, env = process.env) {
    const https = target.protocol === 'https:';
    const proxy = https ? env.https_proxy || env.HTTPS_PROXY : env.http_proxy || env.HTTP_PROXY;
    if (!proxy)
        return undefined;
    const host = target.hostname.toLowerCase().replace(/^\[|\]$/g, '');
    if (host === 'localhost' || host.startsWith('127.') || host === '::1')
        return undefined;
    const port = target.port || (https ? '443' : '80');
    const noProxy = (env.no_proxy || env.NO_PROXY || '').split(',').map((e) => e.trim().toLowerCase());
    const bypassed = noProxy.filter(Boolean).some((entry) => {
        if (entry === '*')
            return true;
        const [name, entryPort] = entry.split(':');
        if (entryPort && entryPort !== port)
            return false;
        const bare = name.replace(/^\*?\./, '');
        return host === bare || host.endsWith(`.${bare}`);
    });
    if (bypassed)
        return undefined;
    return /^https?:\/\//i.test(proxy) ? proxy : `http://${proxy}`;
}

;// CONCATENATED MODULE: ./src/notify/webhook.ts

class WebhookError extends Error {
    constructor(message) {
        super(message);
        this.name = 'WebhookError';
    }
}
async function postJson(url, body, options) {
    const deadline = AbortSignal.timeout(options.timeoutMs);
    const started = Date.now();
    const text = JSON.stringify(body);
    const send = await fetchFor(url);
    for (let attempt = 1;; attempt++) {
        let problem;
        let retryable;
        try {
            const response = await send(url, {
                method: 'POST',
                headers: { 'content-type': 'application/json; charset=utf-8' },
                body: text,
                signal: deadline,
                redirect: 'error',
            });
            // Read (and so release) the body; Slack explains a refusal in it ("invalid_payload").
            const answer = (await response.text().catch(() => '')).trim().slice(0, 200);
            if (response.ok)
                return { status: response.status, attempts: attempt };
            problem = `the webhook answered HTTP ${response.status}${answer ? ` (${answer.replace(/\s+/g, ' ')})` : ''}`;
            retryable = response.status >= 500;
        }
        catch (error) {
            if (deadline.aborted)
                throw new WebhookError(`the webhook did not answer within ${Math.round(options.timeoutMs / 1000)} s`);
            const cause = error.cause;
            problem = `the webhook could not be reached (${cause?.code ?? cause?.message ?? error.message})`;
            retryable = true;
        }
        const left = options.timeoutMs - (Date.now() - started);
        if (attempt >= 2 || !retryable || left <= options.retryDelayMs)
            throw new WebhookError(attempt >= 2 ? `${problem}, again on the retry` : problem);
        // Not unref'd: the run is awaiting it, and an unref'd timer alone would let the process exit.
        await new Promise((resolve) => setTimeout(resolve, options.retryDelayMs));
    }
}
/**
 * Node's fetch, or behind the runner's HTTP(S) proxy (self-hosted runners) undici's through it, as
 * our GitHub client does; undici is loaded only then.
 */
async function fetchFor(url) {
    const proxy = proxyFor(new URL(url));
    if (!proxy)
        return fetch;
    const undici = await __nccwpck_require__.e(/* import() */ 752).then(__nccwpck_require__.t.bind(__nccwpck_require__, 6752, 19));
    const dispatcher = new undici.ProxyAgent(proxy);
    return ((target, init) => undici.fetch(target, { ...init, dispatcher }));
}

;// CONCATENATED MODULE: ./src/notify/index.ts



/** How long a run may spend on its alert, retry included. */
const ALERT_TIMEOUT_MS = 10_000;
const RETRY_DELAY_MS = 1_000;
/**
 * Teams' webhooks: Workflows (Power Automate: *.logic.azure.com, *.powerplatform.com) take only
 * Adaptive Cards; legacy connectors (*.webhook.office.com) take them too. Every other host gets
 * Slack's `{"text": …}`, which Slack-compatible webhooks share.
 */
function alertFormatFor(webhookUrl) {
    const host = new URL(webhookUrl).hostname.toLowerCase();
    const teams = ['.webhook.office.com', '.logic.azure.com', '.powerplatform.com', '.powerautomate.com'];
    return teams.some((suffix) => host.endsWith(suffix)) ? 'teams' : 'slack';
}
/**
 * Sends the run's alert when `notify-webhook-url` is set and the outcome is in `notify-on`. Never
 * throws and never changes the outcome: a webhook that fails or does not answer in time is a
 * warning. The payload is scrubbed here, at the sink, and nothing logged names the URL.
 */
async function notifyRun(settings, result, context, logger, scrubber) {
    const url = settings.notifyWebhookUrl;
    if (!url)
        return;
    const outcome = alertOutcome(result);
    if (!settings.notifyOn.includes(outcome)) {
        logger.debug(`No alert: ${outcome} is not in notify-on (${settings.notifyOn.join(', ')})`);
        return;
    }
    try {
        const format = alertFormatFor(url);
        const payload = scrubber.scrubValue(renderAlert(result, context, format));
        const sent = await postJson(url, payload, { timeoutMs: ALERT_TIMEOUT_MS, retryDelayMs: RETRY_DELAY_MS });
        logger.info(`Alert sent (${outcome}, ${format === 'teams' ? 'Teams Adaptive Card' : 'Slack-style text'}${sent.attempts > 1 ? ', on the retry' : ''})`);
    }
    catch (error) {
        logger.warn(`The alert (${outcome}) could not be sent to notify-webhook-url: ${scrubber.scrub(errorMessage(error))}. The migration's outcome is not affected.`);
    }
}

;// CONCATENATED MODULE: ./src/report/text.ts
const CAN_CHANGE = new Set(['apply', 'rollback', 'baseline']);
/** The CLI's closing report: a compact plain-text table. */
function renderText(result) {
    const out = [];
    if (result.status_rows) {
        for (const r of result.status_rows) {
            out.push(`${r.state.padEnd(16)} ${r.version.padEnd(16)} ${r.name}${r.checksum && r.checksum !== 'ok' ? `  [checksum ${r.checksum}]` : ''}${r.partial ? `  [${r.partial.description}]` : ''}`);
        }
    }
    for (const m of result.migrations) {
        out.push(`${m.status.padEnd(18)} ${m.version.padEnd(16)} ${m.name}  (${m.durationMs} ms, ${m.statements} statements${m.atomic ? '' : ', not atomic'})`);
        for (const note of m.notes ?? [])
            out.push(`    note: ${note}`);
        if (m.error)
            out.push(`    ${m.error.file}:${m.error.line ?? ''}:${m.error.column ?? ''}: ${m.error.message}`);
    }
    for (const f of result.findings)
        out.push(`${f.severity}: ${f.message}`);
    for (const r of result.abandonedRuns ?? [])
        out.push(`abandoned run #${r.id}: applied ${r.applied.length ? r.applied.join(', ') : 'nothing'}${r.closed ? ' (closed as abandoned now)' : ' (still recorded as running)'}`);
    // Only where the command can change the database: elsewhere "no" is true by design and says nothing.
    if (CAN_CHANGE.has(result.command))
        out.push(`database changed: ${result.changed ? 'yes' : 'no (as it was before the run)'}`);
    out.push(`${result.status}: ${result.message}`);
    return `${out.join('\n')}\n`;
}

;// CONCATENATED MODULE: ./src/cli.ts











const USAGE = `Usage: migration-guard <command> [--flag value ...]

Commands: ${COMMANDS.join(', ')}
          aggregate: one status board from many targets' JSON reports; needs no database
          (migration-guard aggregate --help)

Flags (the same names as the action's inputs):
  --database-url URL        required; or set DATABASE_URL
  --migrations-dir DIR      default supabase/migrations
  --environment NAME        label for reports (default "default")
  --transaction-mode MODE   all (default) | per-file
  --lock-timeout DURATION   default 2s
  --lock-retries N          default 5
  --statement-timeout DUR   default none
  --run-lock-timeout DUR    how long to wait for another run's lock (default 2m)
  --allow-out-of-order      run pending files older than the newest applied one
  --target-version VERSION  baseline (required): mark files up to this version, or all;
                            rollback: revert every migration newer than this version
  --count N                 rollback: revert the newest N migrations (default 1)
  --strategy down|restore   rollback: down migrations (default) or restore --backup-path
  --backup MODE             required (default for apply/rollback) | optional | off
  --backup-dir DIR          where backups go (default ~/.local/state/supabase-migration-guard/backups;
                            created 0700, dumps 0600)
  --pg-dump-path PATH       pg_dump to use (pg_restore and psql beside it)
  --backup-path FILE        rollback --strategy restore: the backup to restore
  --confirm-restore DB      rollback --strategy restore: the database name, confirming the restore
  --report-path FILE        write the JSON report here (audit: its exports go beside it)
  --reason TEXT             why this run was started (recorded in the audit log)
  --notify-webhook-url URL  send one message per run to this Slack/Teams incoming webhook
  --notify-on OUTCOMES      which outcomes send one (default failed,rolled-back; also success,
                            refused, cancelled, nothing-to-do)
  --since WHEN, --until WHEN
                            audit: the exported range (2026-01-31, 2026-01-31T12:00Z, 7d, 12h)
  --json                    print the JSON report instead of the text table

Exit codes: 0 success or nothing to do, 1 the run failed or was cancelled, 2 bad usage.`;
const BOOLEAN_FLAGS = new Set(['allow-out-of-order']);
// The manual-run guard is the action's: it reads the repository role of whoever started a workflow.
const ACTION_ONLY = new Set(['command', 'comment', 'github-token', 'allowed-roles', 'rate-limit']);
function parseArgs(argv) {
    const raw = {};
    let json = false;
    let help = false;
    for (let i = 0; i < argv.length; i++) {
        const arg = argv[i];
        if (arg === '--help' || arg === '-h')
            help = true;
        else if (arg === '--json')
            json = true;
        else if (arg.startsWith('--')) {
            const [flag, inline] = arg.slice(2).split(/=(.*)/s, 2);
            // The pull request comment is the action's: the CLI has no pull request to post on.
            if (!INPUT_NAMES.includes(flag) || ACTION_ONLY.has(flag)) {
                throw new UsageError(`Unknown flag --${flag}`);
            }
            const name = flag;
            if (inline !== undefined)
                raw[name] = inline;
            else if (BOOLEAN_FLAGS.has(name) && !/^(true|false)$/i.test(argv[i + 1] ?? ''))
                raw[name] = 'true';
            else if (argv[i + 1] === undefined)
                throw new UsageError(`--${flag} needs a value`);
            else
                raw[name] = argv[++i];
            // Settings read a blank value as "not given" (as the action must: GitHub passes unset inputs
            // blank). Typed on a command line it is usually an unset variable (`--target-version "$V"`):
            // refuse it rather than fall back to a default the caller did not choose.
            if (raw[name].trim() === '') {
                throw new UsageError(`--${flag} was given an empty value: give a value, or leave the flag out`);
            }
        }
        else if (raw.command === undefined)
            raw.command = arg;
        else
            throw new UsageError(`Unexpected argument "${arg}"`);
    }
    return { raw, json, help };
}
class UsageError extends Error {
}
const stderrLogger = {
    info: (m) => process.stderr.write(`${m}\n`),
    warn: (m) => process.stderr.write(`warning: ${m}\n`),
    error: (m) => process.stderr.write(`error: ${m}\n`),
    debug: (m) => {
        if (process.env.MIGRATION_GUARD_DEBUG)
            process.stderr.write(`debug: ${m}\n`);
    },
    group: async (title, fn) => {
        process.stderr.write(`== ${title}\n`);
        return fn();
    },
};
async function main(argv, env = process.env) {
    // Reads report files only: none of the database flags, settings or scrubbing of a run apply.
    if (argv[0] === 'aggregate')
        return aggregateMain(argv.slice(1), env);
    let parsed;
    try {
        parsed = parseArgs(argv);
    }
    catch (error) {
        process.stderr.write(`${error.message}\n\n${USAGE}\n`);
        return 2;
    }
    if (parsed.help || !parsed.raw.command) {
        process.stdout.write(`${USAGE}\n`);
        return parsed.help ? 0 : 2;
    }
    if (parsed.raw.command === 'auto') {
        process.stderr.write('The CLI needs an explicit command.\n');
        return 2;
    }
    parsed.raw['database-url'] ??= env.DATABASE_URL;
    const scrubber = scrubberForInputs(parsed.raw);
    let settings;
    try {
        settings = parseSettings(parsed.raw);
    }
    catch (error) {
        process.stderr.write(`${scrubber.scrub(error.message)}\n`);
        return 2;
    }
    const logger = scrubbingLogger(stderrLogger, scrubber.scrub);
    const stop = cancelOnSignals(logger);
    const run = runContextFromEnv(env);
    // Scrubbed (then its statements cut) by runCommand: the report and stdout are written from it as it is.
    const result = await runCommand({ settings, logger, run, signal: stop.signal, scrubber });
    stop.dispose();
    await notifyRun(settings, result, {
        actor: run.triggeringActor || run.actor,
        eventName: run.eventName,
        repository: run.repository,
        reason: settings.reason,
    }, logger, scrubber);
    if (settings.reportPath) {
        const path = (0,external_node_path_namespaceObject.resolve)(settings.reportPath);
        await (0,promises_namespaceObject.mkdir)((0,external_node_path_namespaceObject.dirname)(path), { recursive: true });
        await (0,promises_namespaceObject.writeFile)(path, `${JSON.stringify(result, null, 2)}\n`);
    }
    process.stdout.write(parsed.json ? `${JSON.stringify(result, null, 2)}\n` : renderText(result));
    return result.status === 'success' || result.status === 'nothing-to-do' ? 0 : 1;
}


/***/ }),

/***/ 4390:
/***/ ((module) => {

module.exports = eval("require")("pg-native");


/***/ }),

/***/ 6982:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("crypto");

/***/ }),

/***/ 2250:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("dns");

/***/ }),

/***/ 4434:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("events");

/***/ }),

/***/ 9896:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("fs");

/***/ }),

/***/ 9278:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("net");

/***/ }),

/***/ 4589:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:assert");

/***/ }),

/***/ 6698:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:async_hooks");

/***/ }),

/***/ 4573:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:buffer");

/***/ }),

/***/ 7540:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:console");

/***/ }),

/***/ 7598:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:crypto");

/***/ }),

/***/ 3053:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:diagnostics_channel");

/***/ }),

/***/ 610:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:dns");

/***/ }),

/***/ 8474:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:events");

/***/ }),

/***/ 3024:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:fs");

/***/ }),

/***/ 7067:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:http");

/***/ }),

/***/ 2467:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:http2");

/***/ }),

/***/ 7030:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:net");

/***/ }),

/***/ 643:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:perf_hooks");

/***/ }),

/***/ 1792:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:querystring");

/***/ }),

/***/ 7075:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:stream");

/***/ }),

/***/ 1692:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:tls");

/***/ }),

/***/ 3136:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:url");

/***/ }),

/***/ 7975:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:util");

/***/ }),

/***/ 3429:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:util/types");

/***/ }),

/***/ 5919:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:worker_threads");

/***/ }),

/***/ 8522:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:zlib");

/***/ }),

/***/ 6928:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("path");

/***/ }),

/***/ 2203:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("stream");

/***/ }),

/***/ 3193:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("string_decoder");

/***/ }),

/***/ 4756:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("tls");

/***/ }),

/***/ 9023:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("util");

/***/ }),

/***/ 8253:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("util/types");

/***/ })

/******/ });
/************************************************************************/
/******/ // The module cache
/******/ var __webpack_module_cache__ = {};
/******/ 
/******/ // The require function
/******/ function __nccwpck_require__(moduleId) {
/******/ 	// Check if module is in cache
/******/ 	var cachedModule = __webpack_module_cache__[moduleId];
/******/ 	if (cachedModule !== undefined) {
/******/ 		return cachedModule.exports;
/******/ 	}
/******/ 	// Create a new module (and put it into the cache)
/******/ 	var module = __webpack_module_cache__[moduleId] = {
/******/ 		// no module.id needed
/******/ 		// no module.loaded needed
/******/ 		exports: {}
/******/ 	};
/******/ 
/******/ 	// Execute the module function
/******/ 	var threw = true;
/******/ 	try {
/******/ 		__webpack_modules__[moduleId].call(module.exports, module, module.exports, __nccwpck_require__);
/******/ 		threw = false;
/******/ 	} finally {
/******/ 		if(threw) delete __webpack_module_cache__[moduleId];
/******/ 	}
/******/ 
/******/ 	// Return the exports of the module
/******/ 	return module.exports;
/******/ }
/******/ 
/******/ // expose the modules object (__webpack_modules__)
/******/ __nccwpck_require__.m = __webpack_modules__;
/******/ 
/************************************************************************/
/******/ /* webpack/runtime/asset-relocator-loader */
/******/ if (typeof __nccwpck_require__ !== 'undefined') __nccwpck_require__.ab = decodeURIComponent(new URL('.', import.meta.url).pathname).slice(import.meta.url.match(/^file:\/\/\/\w:/) ? 1 : 0, -1) + "/";
/******/ 
/******/ /* webpack/runtime/async module */
/******/ (() => {
/******/ 	var webpackQueues = typeof Symbol === "function" ? Symbol("webpack queues") : "__webpack_queues__";
/******/ 	var webpackExports = typeof Symbol === "function" ? Symbol("webpack exports") : "__webpack_exports__";
/******/ 	var webpackError = typeof Symbol === "function" ? Symbol("webpack error") : "__webpack_error__";
/******/ 	var resolveQueue = (queue) => {
/******/ 		if(queue && queue.d < 1) {
/******/ 			queue.d = 1;
/******/ 			queue.forEach((fn) => (fn.r--));
/******/ 			queue.forEach((fn) => (fn.r-- ? fn.r++ : fn()));
/******/ 		}
/******/ 	}
/******/ 	var wrapDeps = (deps) => (deps.map((dep) => {
/******/ 		if(dep !== null && typeof dep === "object") {
/******/ 			if(dep[webpackQueues]) return dep;
/******/ 			if(dep.then) {
/******/ 				var queue = [];
/******/ 				queue.d = 0;
/******/ 				dep.then((r) => {
/******/ 					obj[webpackExports] = r;
/******/ 					resolveQueue(queue);
/******/ 				}, (e) => {
/******/ 					obj[webpackError] = e;
/******/ 					resolveQueue(queue);
/******/ 				});
/******/ 				var obj = {};
/******/ 				obj[webpackQueues] = (fn) => (fn(queue));
/******/ 				return obj;
/******/ 			}
/******/ 		}
/******/ 		var ret = {};
/******/ 		ret[webpackQueues] = x => {};
/******/ 		ret[webpackExports] = dep;
/******/ 		return ret;
/******/ 	}));
/******/ 	__nccwpck_require__.a = (module, body, hasAwait) => {
/******/ 		var queue;
/******/ 		hasAwait && ((queue = []).d = -1);
/******/ 		var depQueues = new Set();
/******/ 		var exports = module.exports;
/******/ 		var currentDeps;
/******/ 		var outerResolve;
/******/ 		var reject;
/******/ 		var promise = new Promise((resolve, rej) => {
/******/ 			reject = rej;
/******/ 			outerResolve = resolve;
/******/ 		});
/******/ 		promise[webpackExports] = exports;
/******/ 		promise[webpackQueues] = (fn) => (queue && fn(queue), depQueues.forEach(fn), promise["catch"](x => {}));
/******/ 		module.exports = promise;
/******/ 		body((deps) => {
/******/ 			currentDeps = wrapDeps(deps);
/******/ 			var fn;
/******/ 			var getResult = () => (currentDeps.map((d) => {
/******/ 				if(d[webpackError]) throw d[webpackError];
/******/ 				return d[webpackExports];
/******/ 			}))
/******/ 			var promise = new Promise((resolve) => {
/******/ 				fn = () => (resolve(getResult));
/******/ 				fn.r = 0;
/******/ 				var fnQueue = (q) => (q !== queue && !depQueues.has(q) && (depQueues.add(q), q && !q.d && (fn.r++, q.push(fn))));
/******/ 				currentDeps.map((dep) => (dep[webpackQueues](fnQueue)));
/******/ 			});
/******/ 			return fn.r ? promise : getResult();
/******/ 		}, (err) => ((err ? reject(promise[webpackError] = err) : outerResolve(exports)), resolveQueue(queue)));
/******/ 		queue && queue.d < 0 && (queue.d = 0);
/******/ 	};
/******/ })();
/******/ 
/******/ /* webpack/runtime/create fake namespace object */
/******/ (() => {
/******/ 	var getProto = Object.getPrototypeOf ? (obj) => (Object.getPrototypeOf(obj)) : (obj) => (obj.__proto__);
/******/ 	var leafPrototypes;
/******/ 	// create a fake namespace object
/******/ 	// mode & 1: value is a module id, require it
/******/ 	// mode & 2: merge all properties of value into the ns
/******/ 	// mode & 4: return value when already ns object
/******/ 	// mode & 16: return value when it's Promise-like
/******/ 	// mode & 8|1: behave like require
/******/ 	__nccwpck_require__.t = function(value, mode) {
/******/ 		if(mode & 1) value = this(value);
/******/ 		if(mode & 8) return value;
/******/ 		if(typeof value === 'object' && value) {
/******/ 			if((mode & 4) && value.__esModule) return value;
/******/ 			if((mode & 16) && typeof value.then === 'function') return value;
/******/ 		}
/******/ 		var ns = Object.create(null);
/******/ 		__nccwpck_require__.r(ns);
/******/ 		var def = {};
/******/ 		leafPrototypes = leafPrototypes || [null, getProto({}), getProto([]), getProto(getProto)];
/******/ 		for(var current = mode & 2 && value; typeof current == 'object' && !~leafPrototypes.indexOf(current); current = getProto(current)) {
/******/ 			Object.getOwnPropertyNames(current).forEach((key) => (def[key] = () => (value[key])));
/******/ 		}
/******/ 		def['default'] = () => (value);
/******/ 		__nccwpck_require__.d(ns, def);
/******/ 		return ns;
/******/ 	};
/******/ })();
/******/ 
/******/ /* webpack/runtime/define property getters */
/******/ (() => {
/******/ 	// define getter functions for harmony exports
/******/ 	__nccwpck_require__.d = (exports, definition) => {
/******/ 		for(var key in definition) {
/******/ 			if(__nccwpck_require__.o(definition, key) && !__nccwpck_require__.o(exports, key)) {
/******/ 				Object.defineProperty(exports, key, { enumerable: true, get: definition[key] });
/******/ 			}
/******/ 		}
/******/ 	};
/******/ })();
/******/ 
/******/ /* webpack/runtime/ensure chunk */
/******/ (() => {
/******/ 	__nccwpck_require__.f = {};
/******/ 	// This file contains only the entry chunk.
/******/ 	// The chunk loading function for additional chunks
/******/ 	__nccwpck_require__.e = (chunkId) => {
/******/ 		return Promise.all(Object.keys(__nccwpck_require__.f).reduce((promises, key) => {
/******/ 			__nccwpck_require__.f[key](chunkId, promises);
/******/ 			return promises;
/******/ 		}, []));
/******/ 	};
/******/ })();
/******/ 
/******/ /* webpack/runtime/get javascript chunk filename */
/******/ (() => {
/******/ 	// This function allow to reference async chunks
/******/ 	__nccwpck_require__.u = (chunkId) => {
/******/ 		// return url for filenames based on template
/******/ 		return "" + chunkId + ".index.js";
/******/ 	};
/******/ })();
/******/ 
/******/ /* webpack/runtime/hasOwnProperty shorthand */
/******/ (() => {
/******/ 	__nccwpck_require__.o = (obj, prop) => (Object.prototype.hasOwnProperty.call(obj, prop))
/******/ })();
/******/ 
/******/ /* webpack/runtime/make namespace object */
/******/ (() => {
/******/ 	// define __esModule on exports
/******/ 	__nccwpck_require__.r = (exports) => {
/******/ 		if(typeof Symbol !== 'undefined' && Symbol.toStringTag) {
/******/ 			Object.defineProperty(exports, Symbol.toStringTag, { value: 'Module' });
/******/ 		}
/******/ 		Object.defineProperty(exports, '__esModule', { value: true });
/******/ 	};
/******/ })();
/******/ 
/******/ /* webpack/runtime/import chunk loading */
/******/ (() => {
/******/ 	// no baseURI
/******/ 	
/******/ 	// object to store loaded and loading chunks
/******/ 	// undefined = chunk not loaded, null = chunk preloaded/prefetched
/******/ 	// [resolve, Promise] = chunk loading, 0 = chunk loaded
/******/ 	var installedChunks = {
/******/ 		792: 0
/******/ 	};
/******/ 	
/******/ 	var installChunk = (data) => {
/******/ 		var {ids, modules, runtime} = data;
/******/ 		// add "modules" to the modules object,
/******/ 		// then flag all "ids" as loaded and fire callback
/******/ 		var moduleId, chunkId, i = 0;
/******/ 		for(moduleId in modules) {
/******/ 			if(__nccwpck_require__.o(modules, moduleId)) {
/******/ 				__nccwpck_require__.m[moduleId] = modules[moduleId];
/******/ 			}
/******/ 		}
/******/ 		if(runtime) runtime(__nccwpck_require__);
/******/ 		for(;i < ids.length; i++) {
/******/ 			chunkId = ids[i];
/******/ 			if(__nccwpck_require__.o(installedChunks, chunkId) && installedChunks[chunkId]) {
/******/ 				installedChunks[chunkId][0]();
/******/ 			}
/******/ 			installedChunks[ids[i]] = 0;
/******/ 		}
/******/ 	
/******/ 	}
/******/ 	
/******/ 	__nccwpck_require__.f.j = (chunkId, promises) => {
/******/ 			// import() chunk loading for javascript
/******/ 			var installedChunkData = __nccwpck_require__.o(installedChunks, chunkId) ? installedChunks[chunkId] : undefined;
/******/ 			if(installedChunkData !== 0) { // 0 means "already installed".
/******/ 	
/******/ 				// a Promise means "currently loading".
/******/ 				if(installedChunkData) {
/******/ 					promises.push(installedChunkData[1]);
/******/ 				} else {
/******/ 					if(true) { // all chunks have JS
/******/ 						// setup Promise in chunk cache
/******/ 						var promise = import("./" + __nccwpck_require__.u(chunkId)).then(installChunk, (e) => {
/******/ 							if(installedChunks[chunkId] !== 0) installedChunks[chunkId] = undefined;
/******/ 							throw e;
/******/ 						});
/******/ 						var promise = Promise.race([promise, new Promise((resolve) => (installedChunkData = installedChunks[chunkId] = [resolve]))])
/******/ 						promises.push(installedChunkData[1] = promise);
/******/ 					}
/******/ 				}
/******/ 			}
/******/ 	};
/******/ 	
/******/ 	// no prefetching
/******/ 	
/******/ 	// no preloaded
/******/ 	
/******/ 	// no external install chunk
/******/ 	
/******/ 	// no on chunks loaded
/******/ })();
/******/ 
/************************************************************************/
/******/ 
/******/ // startup
/******/ // Load entry module and return exports
/******/ // This entry module used 'module' so it can't be inlined
/******/ var __webpack_exports__ = __nccwpck_require__(8084);
/******/ __webpack_exports__ = await __webpack_exports__;
/******/ 
