export const id = 245;
export const ids = [245];
export const modules = {

/***/ 5245:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {


// EXPORTS
__webpack_require__.d(__webpack_exports__, {
  aptInstaller: () => (/* reexport */ aptInstaller),
  assertDecryptable: () => (/* reexport */ assertDecryptable),
  copySchema: () => (/* reexport */ copySchema),
  createProcessRunner: () => (/* reexport */ createProcessRunner),
  findPgTools: () => (/* reexport */ findPgTools),
  restoreBackup: () => (/* reexport */ restoreBackup),
  takeBackup: () => (/* reexport */ takeBackup)
});

// EXTERNAL MODULE: external "node:crypto"
var external_node_crypto_ = __webpack_require__(7598);
// EXTERNAL MODULE: external "node:fs"
var external_node_fs_ = __webpack_require__(3024);
// EXTERNAL MODULE: external "node:fs/promises"
var promises_ = __webpack_require__(1455);
// EXTERNAL MODULE: external "node:os"
var external_node_os_ = __webpack_require__(8161);
// EXTERNAL MODULE: external "node:path"
var external_node_path_ = __webpack_require__(6760);
// EXTERNAL MODULE: external "node:stream/promises"
var external_node_stream_promises_ = __webpack_require__(6466);
// EXTERNAL MODULE: ./src/errors.ts
var errors = __webpack_require__(3916);
// EXTERNAL MODULE: ./src/secrets.ts
var secrets = __webpack_require__(7194);
;// CONCATENATED MODULE: ./src/backup/age-crypto.ts


let library;
const loadAge = () => (library ??= __webpack_require__.e(/* import() */ 909).then(__webpack_require__.bind(__webpack_require__, 1909)));
/** Every age file starts with this line (age-encryption.org/v1 specification). */
const AGE_MAGIC = 'age-encryption.org/v1\n';
async function isAgeFile(path) {
    const handle = await (0,promises_.open)(path, 'r');
    try {
        const head = Buffer.alloc(AGE_MAGIC.length);
        const { bytesRead } = await handle.read(head, 0, head.length, 0);
        return head.subarray(0, bytesRead).toString('latin1') === AGE_MAGIC;
    }
    finally {
        await handle.close();
    }
}
/** Encrypts `input` to every recipient (age1… public keys). A recipient the library refuses is an input error. */
async function encryptTo(recipients, input) {
    const encrypter = await encrypterFor(recipients);
    let fileKey;
    // Adds no stanza to the header: it only keeps the file key for the read-back below.
    encrypter.addRecipient({
        wrapFileKey: (key) => {
            fileKey = Uint8Array.from(key);
            return [];
        },
    });
    const output = await encrypter.encrypt(input);
    return {
        output,
        readBack: { unwrapFileKey: () => (fileKey ? Uint8Array.from(fileKey) : null) },
        forget: () => {
            fileKey?.fill(0);
            fileKey = undefined;
        },
    };
}
/** Checks each recipient with the library before any work starts, so a bad key fails first. */
async function checkRecipients(recipients) {
    await encrypterFor(recipients);
}
async function encrypterFor(recipients) {
    const age = await loadAge();
    const encrypter = new age.Encrypter();
    for (const [index, recipient] of recipients.entries()) {
        try {
            encrypter.addRecipient(recipient);
        }
        catch (error) {
            throw new errors/* GuardError */.U$('invalid-input', `backup-encryption-key: key ${index + 1} (${recipient.slice(0, 10)}…) is not a valid age public key: ${error.message}. Nothing was changed.`, {
                hint: 'Copy the "Public key: age1…" line that age-keygen printed (or run "age-keygen -y key.txt").',
            });
        }
    }
    return encrypter;
}
/**
 * Decrypts an age stream. Resolves once the header has been opened (a wrong identity fails here,
 * before any byte of the payload is read); the payload's chunks are each authenticated as they
 * pass, and a truncated or altered file errors the stream.
 */
async function decryptWith(identities, input, what) {
    const age = await loadAge();
    const decrypter = new age.Decrypter();
    try {
        for (const identity of identities)
            decrypter.addIdentity(identity);
    }
    catch {
        throw new errors/* GuardError */.U$(what.code, 'backup-decryption-key is not a valid age identity. Nothing was changed.', {
            hint: 'Store the AGE-SECRET-KEY-1… line that age-keygen wrote (or the whole key file) in the secret.',
        });
    }
    try {
        return await decrypter.decrypt(input);
    }
    catch (error) {
        throw decryptionFailure(error, what);
    }
}
/** A failure while reading the payload: altered, truncated or not written by age. */
function decryptionFailure(error, what) {
    const said = error?.message ?? String(error);
    if (/no identity matched/i.test(said)) {
        return new errors/* GuardError */.U$(what.code, `${what.path} was not encrypted to backup-decryption-key: none of its identities opens the file. Nothing was changed.`, {
            hint: 'Use the identity whose public key (age-keygen -y) was the backup-encryption-key when this backup was taken.',
            cause: error,
        });
    }
    return new errors/* GuardError */.U$(what.code, `${what.path} cannot be decrypted: ${said} (the file is damaged, truncated or was altered). Nothing was changed.`, {
        hint: 'Restore an intact copy: its sha256 must match the one recorded when it was taken.',
        cause: error,
    });
}

// EXTERNAL MODULE: external "node:stream"
var external_node_stream_ = __webpack_require__(7075);
// EXTERNAL MODULE: external "node:child_process"
var external_node_child_process_ = __webpack_require__(1421);
;// CONCATENATED MODULE: ./src/backup/process.ts


/** Output beyond this is dropped (stdout: the end, stderr: the beginning, which matters least). */
const MAX_STDOUT = 64 * 1024 * 1024;
const MAX_STDERR = 1024 * 1024;
const KILL_GRACE_MS = 5_000;
function createProcessRunner() {
    return { run: runProcess };
}
function runProcess(file, args, options = {}) {
    return startProcess(file, args, options).done;
}
function startProcess(file, args, options = {}) {
    const streamOut = options.stdout === 'stream';
    const child = (0,external_node_child_process_.spawn)(file, [...args], {
        env: options.env ?? process.env,
        stdio: [options.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'],
        shell: false,
        windowsHide: true,
    });
    // A program that exits without reading all its input (pg_restore --list stops after the table of
    // contents) makes writes fail with EPIPE: its exit code says whether that mattered.
    child.stdin?.on('error', () => { });
    const stdout = [];
    let stdoutBytes = 0;
    let stderr = '';
    let timedOut = false;
    let killTimer;
    const stop = () => {
        if (child.exitCode !== null || child.signalCode !== null)
            return;
        child.kill('SIGTERM');
        killTimer ??= setTimeout(() => child.kill('SIGKILL'), KILL_GRACE_MS);
    };
    if (!streamOut) {
        child.stdout.on('data', (chunk) => {
            if (stdoutBytes >= MAX_STDOUT)
                return;
            stdout.push(chunk);
            stdoutBytes += chunk.length;
        });
    }
    child.stderr.on('data', (chunk) => {
        stderr += chunk.toString('utf8');
        if (stderr.length > MAX_STDERR)
            stderr = stderr.slice(-MAX_STDERR);
    });
    const done = new Promise((resolve) => {
        let settled = false;
        const timer = options.timeoutMs && options.timeoutMs > 0
            ? setTimeout(() => {
                timedOut = true;
                stop();
            }, options.timeoutMs)
            : undefined;
        const stop = () => {
            child.kill('SIGTERM');
            killTimer ??= setTimeout(() => child.kill('SIGKILL'), KILL_GRACE_MS);
        };
        if (options.signal?.aborted)
            stop();
        options.signal?.addEventListener('abort', stop, { once: true });
        const finish = (code, extraStderr = '') => {
            if (settled)
                return;
            settled = true;
            options.signal?.removeEventListener('abort', stop);
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
            const number = signal ? external_node_os_.constants.signals[signal] : undefined;
            finish(128 + (number ?? 0), timedOut ? `\n${file} was stopped after ${options.timeoutMs} ms` : '');
        });
    });
    return { stdin: child.stdin, stdout: streamOut ? child.stdout : null, done, stop };
}
/**
 * Writes one chunk to a program's input, waiting while its pipe is full. A program that has closed
 * its input (exited, or stopped reading) takes nothing more: the chunk is dropped, and its exit
 * code tells whether that was an error.
 */
async function writeChunk(input, chunk) {
    if (input.destroyed || input.writableEnded)
        return;
    if (input.write(chunk))
        return;
    await new Promise((resolve) => {
        const done = () => {
            input.off('drain', done);
            input.off('close', done);
            input.off('error', done);
            resolve();
        };
        input.on('drain', done);
        input.on('close', done);
        input.on('error', done);
    });
}

;// CONCATENATED MODULE: ./src/backup/encrypted-dump.ts







/**
 * pg_dump writes the archive to its standard output; it is hashed and encrypted in memory as it
 * passes and only the age file reaches `path` (an existing, private file). The archive never
 * exists on disk in clear, not even in part.
 */
async function writeEncryptedDump(options) {
    const dump = startProcess(options.pgDump, options.args, {
        env: options.env,
        timeoutMs: options.timeoutMs,
        stdout: 'stream',
    });
    const clear = counting((0,external_node_crypto_.createHash)('sha256'));
    let encrypted;
    try {
        encrypted = await encryptTo(options.recipients, webStream(dump.stdout).pipeThrough(clear.transform));
        const file = await (0,promises_.open)(options.path, 'r+');
        // The write stream owns the handle from here and closes it, also on error.
        await (0,external_node_stream_promises_.pipeline)(external_node_stream_.Readable.fromWeb(encrypted.output), file.createWriteStream());
    }
    catch (error) {
        encrypted?.forget();
        dump.stop();
        await dump.done;
        throw error;
    }
    return {
        dump: await dump.done,
        clearSha256: clear.hash.digest('hex'),
        clearBytes: clear.bytes(),
        readBack: encrypted.readBack,
        forget: encrypted.forget,
    };
}
/**
 * Reads an age file back from disk: hashes it as stored, decrypts it (every chunk authenticated,
 * truncation detected) and hands the clear archive to `pg_restore --list` on its standard input,
 * hashing it too. Nothing decrypted is written anywhere.
 */
async function readBackEncrypted(options) {
    const stored = counting((0,external_node_crypto_.createHash)('sha256'));
    const file = webStream((0,external_node_fs_.createReadStream)(options.path, { highWaterMark: 1024 * 1024 }));
    const clearStream = await decryptWith(options.identities, file.pipeThrough(stored.transform), {
        path: options.path,
        code: options.code,
    });
    const list = startProcess(options.pgRestore, ['--list'], { stdin: true, timeoutMs: options.timeoutMs });
    const clear = (0,external_node_crypto_.createHash)('sha256');
    let clearBytes = 0;
    try {
        for await (const chunk of clearStream) {
            clear.update(chunk);
            clearBytes += chunk.length;
            await writeChunk(list.stdin, chunk);
        }
    }
    catch (error) {
        list.stop();
        await list.done;
        throw decryptionFailure(error, { path: options.path, code: options.code });
    }
    list.stdin.end();
    return {
        sha256: stored.hash.digest('hex'),
        clearSha256: clear.digest('hex'),
        clearBytes,
        listing: await list.done,
    };
}
/** A Node stream as a web stream of bytes (what the age library reads and writes). */
function webStream(stream) {
    return external_node_stream_.Readable.toWeb(stream);
}
/** A pass-through that hashes and counts what flows through it. */
function counting(hash) {
    let bytes = 0;
    const transform = new TransformStream({
        transform(chunk, controller) {
            hash.update(chunk);
            bytes += chunk.length;
            controller.enqueue(chunk);
        },
    });
    return { transform, hash, bytes: () => bytes };
}

// EXTERNAL MODULE: ./src/docs-links.ts
var docs_links = __webpack_require__(9808);
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
        throw new errors/* GuardError */.U$('pg-tools', `No pg_dump of PostgreSQL ${serverMajor} or newer was found: the server runs PostgreSQL ${serverMajor} and ` +
            `pg_dump refuses to dump a server newer than itself. Found: ${describeFound(candidates)}.${installNote}`, { hint: fixHint(serverMajor) });
    }
    const tools = {
        pgDump: chosen.pgDump,
        pgRestore: chosen.pgRestore,
        psql: await executable((0,external_node_path_.join)(chosen.dir, 'psql')),
    };
    logger.info(`Using ${tools.pgDump.path} (${tools.pgDump.version}) for PostgreSQL ${serverMajor}`);
    return tools;
}
function fixHint(major) {
    return (`Set the pg-dump-path input to a pg_dump ${major} (or newer) binary, or install the client before this step: ` +
        `on Ubuntu/Debian add the PostgreSQL apt repository (https://wiki.postgresql.org/wiki/Apt) and run ` +
        `"sudo apt-get install postgresql-client-${major}"; on macOS run "brew install postgresql@${major}".` +
        (0,docs_links/* seeTroubleshooting */.AO)('pg_dump-is-older-than-the-server'));
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
    let path = (0,external_node_path_.resolve)(given);
    const info = await (0,promises_.stat)(path).catch(() => undefined);
    if (!info)
        throw new errors/* GuardError */.U$('pg-tools', `pg-dump-path "${given}" does not exist`, {
            hint: fixHint(serverMajor),
        });
    if (info.isDirectory())
        path = (0,external_node_path_.join)(path, 'pg_dump');
    const pgDump = await probeTool(path, runner);
    if ('problem' in pgDump) {
        throw new errors/* GuardError */.U$('pg-tools', `pg-dump-path "${given}" cannot be used: ${pgDump.problem}`, {
            hint: fixHint(serverMajor),
        });
    }
    if (pgDump.major < serverMajor) {
        throw new errors/* GuardError */.U$('pg-tools', `pg-dump-path "${given}" is pg_dump ${pgDump.version}, but the server runs PostgreSQL ${serverMajor}: ` +
            `pg_dump must be version ${serverMajor} or newer`, { hint: fixHint(serverMajor) });
    }
    const restorePath = (0,external_node_path_.join)((0,external_node_path_.dirname)(path), 'pg_restore');
    const pgRestore = await probeTool(restorePath, runner);
    if ('problem' in pgRestore || pgRestore.major < serverMajor) {
        const why = 'problem' in pgRestore ? pgRestore.problem : `it is version ${pgRestore.version}`;
        throw new errors/* GuardError */.U$('pg-tools', `pg-dump-path "${given}": pg_restore ${serverMajor}+ must sit beside it (${restorePath}), but ${why}`, {
            hint: `Point pg-dump-path at the bin directory of a complete PostgreSQL ${serverMajor} client installation.`,
        });
    }
    return { pgDump, pgRestore, psql: await executable((0,external_node_path_.join)((0,external_node_path_.dirname)(path), 'psql')) };
}
async function probeTool(path, runner) {
    if (!(await executable(path)))
        return { problem: `${path} is missing or not executable` };
    const result = await runner.run(path, ['--version'], { timeoutMs: VERSION_TIMEOUT_MS });
    const parsed = result.code === 0 ? parsePgVersion(result.stdout) : undefined;
    if (!parsed) {
        const said = (result.stdout + result.stderr).trim().split('\n')[0] ?? '';
        return {
            problem: `"${(0,external_node_path_.basename)(path)} --version" did not report a PostgreSQL version (exit ${result.code}: ${said})`,
        };
    }
    return { path, ...parsed };
}
async function discover(options) {
    const pathDirs = (options.searchPath ?? process.env.PATH ?? '')
        .split(external_node_path_.delimiter)
        .filter((d) => d && (0,external_node_path_.isAbsolute)(d));
    const extra = await expandPatterns(options.extraDirs ?? DEFAULT_TOOL_DIRS);
    const seen = new Set();
    const dirs = [];
    for (const dir of [...pathDirs, ...extra]) {
        const real = await (0,promises_.realpath)((0,external_node_path_.join)(dir, 'pg_dump')).catch(() => undefined);
        if (!real || seen.has(real) || !(await executable((0,external_node_path_.join)(dir, 'pg_dump'))))
            continue;
        seen.add(real);
        dirs.push({ dir, real });
    }
    return Promise.all(dirs.map(async ({ dir, real }, order) => {
        const direct = (0,external_node_path_.basename)(real) === 'pg_dump';
        const [pgDump, pgRestore] = await Promise.all([
            probeTool((0,external_node_path_.join)(dir, 'pg_dump'), options.runner),
            probeTool((0,external_node_path_.join)(dir, 'pg_restore'), options.runner),
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
        .sort((a, b) => compareVersions(b.pgDump.version, a.pgDump.version) ||
        Number(b.direct) - Number(a.direct) ||
        a.order - b.order)[0];
}
function compareVersions(a, b) {
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
        const where = (0,external_node_path_.join)(c.dir, 'pg_dump');
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
    const names = await (0,promises_.readdir)(parent).catch(() => []);
    const matches = names
        .filter((n) => n.length >= prefix.length + suffix.length && n.startsWith(prefix) && n.endsWith(suffix))
        .sort();
    return (await Promise.all(matches.map((n) => expandPattern((0,external_node_path_.join)(parent, n) + after)))).flat();
}
async function executable(path) {
    try {
        await (0,promises_.access)(path, external_node_fs_.constants.X_OK);
        return (await (0,promises_.stat)(path)).isFile() ? path : undefined;
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
                const tmp = await (0,promises_.mkdtemp)((0,external_node_path_.join)((0,external_node_os_.tmpdir)(), 'mg-pgdg-'));
                try {
                    const list = (0,external_node_path_.join)(tmp, 'pgdg.list');
                    await (0,promises_.writeFile)(list, `deb [signed-by=${PGDG_KEY}] https://apt.postgresql.org/pub/repos/apt ${codename}-pgdg main\n`);
                    await step('adding the repository', ['install', '-m', '0644', list, PGDG_LIST]);
                }
                finally {
                    await (0,promises_.rm)(tmp, { recursive: true, force: true });
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
    const text = await (0,promises_.readFile)(osReleasePath, 'utf8').catch(() => '');
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
    const real = await (0,promises_.realpath)(dir);
    const info = await (0,promises_.stat)(real);
    if (!info.isDirectory()) {
        throw new errors/* GuardError */.U$('backup-failed', `Backup folder ${dir} is a file, not a folder. Nothing was changed.`, {
            hint: 'Point backup-dir at a folder (it is created when missing).',
        });
    }
    const uid = process.getuid?.();
    if (uid === undefined)
        return real;
    if (info.uid !== uid) {
        throw new errors/* GuardError */.U$('backup-failed', `Backup folder ${dir} belongs to another user (uid ${info.uid}; this run is uid ${uid}), who could read or replace a backup written there. Nothing was changed.`, {
            hint: `Point backup-dir at a folder this user owns, or remove ${dir} so that it is created again, private to this user.`,
        });
    }
    if ((info.mode & 0o077) !== 0) {
        await (0,promises_.chmod)(real, PRIVATE_DIR);
        const after = (await (0,promises_.stat)(real)).mode & 0o777;
        if ((after & 0o077) !== 0) {
            throw new errors/* GuardError */.U$('backup-failed', `Backup folder ${dir} cannot be made private: it stays ${octal(after)} after chmod 0700 (a file system without Unix permissions?). Nothing was changed.`, { hint: 'Point backup-dir at a folder on a local Unix file system.' });
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
    const handle = await (0,promises_.open)(path, 'wx', PRIVATE_FILE);
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
    for (let level = dir;; level = (0,external_node_path_.dirname)(level)) {
        if (await exists(level))
            break;
        missing.unshift(level);
        if ((0,external_node_path_.dirname)(level) === level)
            break;
    }
    for (const level of missing) {
        try {
            await (0,promises_.mkdir)(level, { mode: PRIVATE_DIR });
        }
        catch (error) {
            if (error.code !== 'EEXIST')
                throw error;
            continue; // created meanwhile by someone else: the owner check decides
        }
        await (0,promises_.chmod)(level, PRIVATE_DIR);
    }
}
async function exists(path) {
    try {
        await (0,promises_.stat)(path);
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
/** How long pg_dump waits for each table's share lock (its --lock-wait-timeout), in ms. */
function lockWaitOf(options) {
    return options.lockWaitTimeoutMs ?? DEFAULT_LOCK_WAIT_MS;
}
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
    const recipients = options.encryptTo?.length ? options.encryptTo : undefined;
    // A key the library refuses stops the run before any folder or file is made.
    if (recipients)
        await checkRecipients(recipients);
    const dir = await prepareDir((0,external_node_path_.resolve)(options.dir), logger);
    const fileName = await freeName(dir, backupFileName(options.environment, options.now ?? new Date(), options.sha) + (recipients ? '.age' : ''));
    const path = (0,external_node_path_.join)(dir, fileName);
    const partial = (0,external_node_path_.join)(dir, `.${fileName}.partial`);
    try {
        // A partial file left by a run that died is ours (the folder is private): replace it.
        await (0,promises_.rm)(partial, { force: true });
        await createPrivateFile(partial);
        const lockWait = lockWaitOf(options);
        const dumpArgs = ['--format=custom', '--no-password', `--lock-wait-timeout=${lockWait}`];
        const env = pgEnv(target, tools.pgDump.major);
        const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
        if (recipients) {
            logger.info(`Backing up ${target.display} with pg_dump ${tools.pgDump.version}, encrypted with age to ${recipients.length} recipient${recipients.length > 1 ? 's' : ''}, to ${path}`);
            const info = await encryptedBackup(partial, recipients, dumpArgs, env, timeoutMs, options, dir, scrub);
            await (0,promises_.rename)(partial, path);
            return finish({ ...info, path, fileName, durationMs: Date.now() - started }, logger);
        }
        logger.info(`Backing up ${target.display} with pg_dump ${tools.pgDump.version} to ${path}`);
        const dump = await runner.run(tools.pgDump.path, [...dumpArgs, `--file=${partial}`], { env, timeoutMs });
        if (dump.code !== 0)
            throw dumpFailure(dump.stderr, dump.timedOut, options, dir, scrub);
        const sizeBytes = (await (0,promises_.stat)(partial)).size;
        if (sizeBytes === 0)
            throw new errors/* GuardError */.U$('backup-failed', 'pg_dump exited successfully but wrote an empty file');
        // pg_restore reads the archive while we hash and sync it: three passes over the file at once.
        const [toc, sha256] = await Promise.all([
            readToc(partial, tools, runner, 'backup-failed'),
            sha256File(partial),
            syncFile(partial),
        ]);
        await (0,promises_.rename)(partial, path);
        return finish({
            path,
            fileName,
            sha256,
            sizeBytes,
            durationMs: Date.now() - started,
            pgDumpVersion: tools.pgDump.version,
            entries: toc.entries.length,
            serverVersion: toc.serverVersion,
        }, logger);
    }
    catch (error) {
        await (0,promises_.rm)(partial, { force: true }).catch(() => { });
        if (error instanceof errors/* GuardError */.U$)
            throw error;
        throw fsFailure(error, dir);
    }
}
function finish(info, logger) {
    const clear = info.encrypted
        ? ` (age-encrypted; the archive inside: ${formatBytes(info.encrypted.clearSizeBytes)}, sha256 ${info.encrypted.clearSha256})`
        : '';
    logger.info(`Backup ${info.fileName}: ${formatBytes(info.sizeBytes)}, ${info.entries} entries, sha256 ${info.sha256}${clear}`);
    return info;
}
/**
 * The encrypted variant of the write and the read-back: pg_dump streams into the age encrypter and
 * only ciphertext reaches `partial`; then the file is read back from disk, decrypted in memory and
 * must give the very bytes pg_dump produced (same sha256), which `pg_restore --list` must read.
 */
async function encryptedBackup(partial, recipients, dumpArgs, env, timeoutMs, options, dir, scrub) {
    const { tools } = options;
    const written = await writeEncryptedDump({
        pgDump: tools.pgDump.path,
        args: dumpArgs,
        env,
        timeoutMs,
        recipients,
        path: partial,
    });
    try {
        const { dump } = written;
        if (dump.code !== 0)
            throw dumpFailure(dump.stderr, dump.timedOut, options, dir, scrub);
        if (written.clearBytes === 0)
            throw new errors/* GuardError */.U$('backup-failed', 'pg_dump exited successfully but wrote nothing');
        const [back] = await Promise.all([
            readBackEncrypted({
                path: partial,
                identities: [written.readBack],
                pgRestore: tools.pgRestore.path,
                timeoutMs: LIST_TIMEOUT_MS,
                code: 'backup-failed',
            }),
            syncFile(partial),
        ]);
        if (back.clearSha256 !== written.clearSha256 || back.clearBytes !== written.clearBytes) {
            throw new errors/* GuardError */.U$('backup-failed', `The encrypted backup read back from disk does not decrypt to what pg_dump wrote (sha256 ${back.clearSha256}, ${back.clearBytes} bytes; expected ${written.clearSha256}, ${written.clearBytes} bytes)`, {
                hint: 'The disk or file system corrupted the file: take the backup again, on another volume if it repeats.',
            });
        }
        const toc = tocOf(back.listing, `${partial} (decrypted)`, 'backup-failed');
        return {
            sha256: back.sha256,
            sizeBytes: (await (0,promises_.stat)(partial)).size,
            pgDumpVersion: tools.pgDump.version,
            entries: toc.entries.length,
            serverVersion: toc.serverVersion,
            encrypted: {
                recipients: recipients.length,
                clearSha256: back.clearSha256,
                clearSizeBytes: back.clearBytes,
            },
        };
    }
    finally {
        written.forget();
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
        !(0,external_node_fs_.existsSync)((0,external_node_path_.join)((0,external_node_os_.homedir)(), '.postgresql', 'root.crt'))) {
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
    return tocOf(result, path, code);
}
/** The table of contents `pg_restore --list` printed, or the error for an archive it could not read. */
function tocOf(result, path, code) {
    if (result.code !== 0 || !/^;\s+Format: CUSTOM/m.test(result.stdout)) {
        throw new errors/* GuardError */.U$(code, `${path} cannot be read back as a pg_dump custom-format archive: ${lastLines(result.stderr) || `pg_restore --list exited with ${result.code}`}`, {
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
    await (0,external_node_stream_promises_.pipeline)((0,external_node_fs_.createReadStream)(path, { highWaterMark: 1024 * 1024 }), hash);
    return hash.digest('hex');
}
function passwordScrubber(target) {
    const scrubber = new secrets/* SecretScrubber */.d();
    scrubber.add(target.password);
    return scrubber.scrub;
}
/**
 * Whether pg_dump stopped because --lock-wait-timeout ran out. It applies the timeout as a
 * statement timeout on its LOCK TABLE, so that is what it reports ("canceling statement due to
 * statement timeout", then "Query was: LOCK TABLE …"); a lock timeout set on the server says so.
 */
function isLockWaitFailure(stderr) {
    return /lock timeout|could not obtain lock|statement timeout[\s\S]*LOCK TABLE/i.test(stderr);
}
function lastLines(text, count = 15) {
    return text.trim().split('\n').slice(-count).join('\n');
}
async function prepareDir(dir, logger) {
    try {
        const real = await preparePrivateDir(dir, logger);
        await (0,promises_.access)(real, external_node_fs_.constants.W_OK);
        return real;
    }
    catch (error) {
        if (error instanceof errors/* GuardError */.U$)
            throw error;
        throw fsFailure(error, dir);
    }
}
async function freeName(dir, name) {
    for (let n = 1;; n++) {
        const candidate = n === 1 ? name : name.replace(/\.dump(\.age)?$/, `-${n}.dump$1`);
        if (!(0,external_node_fs_.existsSync)((0,external_node_path_.join)(dir, candidate)))
            return candidate;
    }
}
async function syncFile(path) {
    const handle = await (0,promises_.open)(path, 'r');
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
    const fail = (message, hint) => new errors/* GuardError */.U$('backup-failed', `${message}. Nothing was changed.${said ? `\npg_dump said:\n${said}` : ''}`, { hint });
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
    if (isLockWaitFailure(stderr)) {
        return fail(`pg_dump gave up: another session holds a lock on a table (it waited ${lockWaitOf(options)} ms, ` +
            'the lock-timeout, for a share lock rather than queue behind it)', 'Retry once the transaction holding the lock (often DDL, VACUUM FULL or a session left idle in a transaction) ' +
            'has finished; `SELECT pid, application_name, state, xact_start FROM pg_stat_activity WHERE pid IN ' +
            "(SELECT pid FROM pg_locks WHERE relation = 'the_table'::regclass)` names it.");
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
    return new errors/* GuardError */.U$('backup-failed', `Cannot write the backup to ${dir}: ${reason}. Nothing was changed.`, {
        hint: "Set backup-dir to a writable directory with enough free space (the runner's temp directory works: ${{ runner.temp }}/backups).",
        cause: error,
    });
}
function formatBytes(bytes) {
    if (bytes < 1024)
        return `${bytes} B`;
    if (bytes < 1024 * 1024)
        return `${(bytes / 1024).toFixed(1)} KiB`;
    return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

;// CONCATENATED MODULE: ./src/backup/encrypted-restore.ts





/**
 * Restores an age-encrypted archive with nothing decrypted on disk: the file is decrypted in
 * memory into pg_restore's standard input, whose SQL goes straight into psql's. The transaction is
 * ours, not psql's --single-transaction (which commits at the end of its input, however that end
 * came): `preamble` begins it, and COMMIT is written to psql only once the whole file has
 * decrypted and authenticated and pg_restore has exited cleanly. Any failure before that stops
 * psql; and should this process die mid-way, psql reads the end of its input with the transaction
 * still open, and PostgreSQL rolls it back when psql disconnects.
 */
async function streamEncryptedRestore(options) {
    const what = { path: options.path, code: options.code };
    // The header is opened before any program starts: a wrong identity changes nothing.
    const clear = await decryptWith(options.identities, webStream((0,external_node_fs_.createReadStream)(options.path, { highWaterMark: 1024 * 1024 })), what);
    const apply = startProcess(options.psql, [...options.psqlArgs, '-f', options.preamble, '-f', '-'], {
        env: options.env,
        timeoutMs: options.timeoutMs,
        stdin: true,
    });
    const render = startProcess(options.pgRestore, ['-L', options.list, '-f', '-'], {
        timeoutMs: options.timeoutMs,
        stdin: true,
        stdout: 'stream',
    });
    render.stdout.pipe(apply.stdin, { end: false });
    // psql gone early (an SQL error, a lost connection): pg_restore could only block on a full pipe.
    void apply.done.then(() => render.stop());
    let decryption;
    try {
        for await (const chunk of clear) {
            if (render.stdin.destroyed)
                break;
            await writeChunk(render.stdin, chunk);
        }
    }
    catch (error) {
        decryption = decryptionFailure(error, what);
        render.stop();
    }
    render.stdin.end();
    const rendered = await render.done;
    // Exited already: its own result explains the failure.
    const early = await Promise.race([apply.done, Promise.resolve(undefined)]);
    const ok = !decryption && rendered.code === 0 && !early;
    if (ok)
        apply.stdin.end(`\nCOMMIT;\n\\echo ${COMMITTED}\n`);
    else if (!early)
        apply.stop();
    const applied = await apply.done;
    return {
        decryption,
        render: rendered,
        apply: { ...applied, stopped: !ok && !early, committed: applied.stdout.includes(COMMITTED) },
    };
}
/** psql prints this after our COMMIT succeeded: without it, nothing was committed. */
const COMMITTED = 'mg-restore-committed';
/**
 * Opens the header of an encrypted backup and stops: whether `identities` can decrypt it, known
 * before a restore takes its lock, its safety backup or writes its run record. A file that is not
 * age-encrypted (or missing) passes: the restore itself reports on it.
 */
async function assertDecryptable(path, identities, code) {
    if (!(await isAgeFile(path).catch(() => false)))
        return;
    if (!identities?.length) {
        throw new errors/* GuardError */.U$(code, `The backup ${path} is age-encrypted. Nothing was changed.`, {
            hint: 'Set backup-decryption-key to the age identity (AGE-SECRET-KEY-1…) matching the backup-encryption-key it was taken with, from a secret.',
        });
    }
    const clear = await decryptWith(identities, webStream((0,external_node_fs_.createReadStream)(path)), { path, code });
    await clear.cancel();
}

// EXTERNAL MODULE: ./src/db/connect.ts + 1 modules
var connect = __webpack_require__(1665);
// EXTERNAL MODULE: ./src/db/ident.ts
var ident = __webpack_require__(3268);
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
    const path = (0,external_node_path_.resolve)(options.path);
    const untouched = (message, hint, code = 'restore-failed') => new errors/* GuardError */.U$(code, `${message}. Nothing was changed.`, { hint });
    if (!(await (0,promises_.stat)(path).catch(() => undefined))?.isFile()) {
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
    const encrypted = await isAgeFile(path);
    const identities = options.identities?.length ? options.identities : undefined;
    if (encrypted && !identities) {
        throw untouched(`The backup ${path} is age-encrypted`, 'Set backup-decryption-key to the age identity (AGE-SECRET-KEY-1…) matching the backup-encryption-key it was taken with, from a secret.');
    }
    if (!encrypted && identities)
        logger.warn(`${path} is not encrypted: backup-decryption-key is not needed`);
    // Encrypted: the whole file is decrypted (every chunk authenticated) to read its table of contents,
    // so a wrong key or a damaged file stops here, before the database is even read.
    const toc = encrypted
        ? await encryptedToc(path, identities, tools)
        : await readToc(path, tools, runner, 'restore-failed');
    const plan = await (0,connect/* withClient */.SV)(target, { applicationName: 'supabase-migration-guard restore' }, (client) => planRestore(client, toc, options.keepSchemas, options.alsoKeep ?? []));
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
    const work = await (0,promises_.mkdtemp)((0,external_node_path_.join)(options.workDir ?? (0,external_node_os_.tmpdir)(), 'mg-restore-'));
    try {
        const [list, script, preamble] = ['entries.list', 'restore.sql', 'preamble.sql'].map((f) => (0,external_node_path_.join)(work, f));
        await (0,promises_.writeFile)(list, toc.entries.map((e) => (plan.include.has(e.id) ? e.line : `;${e.line}`)).join('\n'));
        const timeoutMs = options.timeoutMs ?? restore_DEFAULT_TIMEOUT_MS;
        const damaged = (stderr) => untouched(`pg_restore cannot read ${path}: ${lastLines(stderr)}`, 'The archive is damaged or incomplete: restore an intact copy or another backup.');
        const preambleText = preambleSql(plan, options.lockTimeoutMs ?? 0);
        // Streamed: the transaction is begun here and committed by a COMMIT sent last (see encrypted-restore.ts).
        await (0,promises_.writeFile)(preamble, encrypted ? `BEGIN;\n${preambleText}` : preambleText);
        const args = ['--no-psqlrc', '--quiet', '--set=ON_ERROR_STOP=1', `--output=${external_node_os_.devNull}`];
        const env = pgEnv(target, tools.pgRestore.major);
        const entries = `${plan.include.size}/${toc.entries.length} entries`;
        if (encrypted) {
            logger.info(`Restoring ${path} (age-encrypted, decrypted in memory) into ${target.display}: ${entries}`);
            const streamed = await streamEncryptedRestore({
                path,
                identities: identities,
                pgRestore: tools.pgRestore.path,
                list,
                psql,
                psqlArgs: args,
                preamble,
                env,
                timeoutMs,
                code: 'restore-failed',
            });
            if (streamed.decryption)
                throw streamed.decryption;
            if (streamed.apply.stopped)
                throw damaged(streamed.render.stderr);
            if (streamed.apply.code !== 0)
                throw psqlFailure(streamed.apply, target, passwordScrubber(target));
            if (!streamed.apply.committed) {
                throw new errors/* GuardError */.U$('restore-failed', `psql reached the end of its input before the restore was committed, so its transaction was rolled back: ${target.display} is as it was before.`, { hint: 'Run the restore again; if it repeats, check what stops psql early (its output above).' });
            }
        }
        else {
            const rendered = await runner.run(tools.pgRestore.path, ['-L', list, '-f', script, path], {
                timeoutMs,
            });
            if (rendered.code !== 0)
                throw damaged(rendered.stderr);
            logger.info(`Restoring ${path} into ${target.display}: ${entries}`);
            const run = await runner.run(psql, [...args, '--single-transaction', '-f', preamble, '-f', script], {
                env,
                timeoutMs,
            });
            if (run.code !== 0)
                throw psqlFailure(run, target, passwordScrubber(target));
        }
    }
    finally {
        await (0,promises_.rm)(work, { recursive: true, force: true });
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
async function encryptedToc(path, identities, tools) {
    const back = await readBackEncrypted({
        path,
        identities,
        pgRestore: tools.pgRestore.path,
        timeoutMs: LIST_TIMEOUT_MS,
        code: 'restore-failed',
    });
    return tocOf(back.listing, `${path} (decrypted)`, 'restore-failed');
}
function psqlFailure(run, target, scrub) {
    const said = scrub(lastLines(run.stderr));
    const what = run.timedOut
        ? 'The restore took too long and was stopped'
        : /changed while the restore was being prepared/.test(run.stderr)
            ? 'The database changed while the restore was being prepared'
            : 'The restore failed';
    return new errors/* GuardError */.U$('restore-failed', `${what}; its transaction was rolled back, so ${target.display} is as it was before.` +
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
            for (const name of [e.tag, (0,ident/* quoteIdent */.v)(e.tag)])
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
    const schemas = `ARRAY[${plan.drop.map(ident/* quoteLiteral */.c).join(', ')}]::text[]`;
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
        `  IF coalesce(found, '') <> ${(0,ident/* quoteLiteral */.c)(plan.outsideKeys)} THEN`,
        `    RAISE EXCEPTION 'the database changed while the restore was being prepared: objects outside the restored schemas now depend on them (%)', coalesce(found, '');`,
        '  END IF;',
        'END',
        '$mg_check$;',
    ];
    if (plan.drop.length > 0)
        lines.push(`DROP SCHEMA IF EXISTS ${plan.drop.map(ident/* quoteIdent */.v).join(', ')} CASCADE;`);
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

;// CONCATENATED MODULE: ./src/backup/schema-copy.ts






const schema_copy_DEFAULT_TIMEOUT_MS = 30 * 60_000;
/** How many of pg_restore's errors the report lists; the count says how many there were. */
const ERRORS_LISTED = 20;
/**
 * Copies the source's schema (no data) into the destination: `pg_dump --schema-only` in the custom
 * format, then `pg_restore` into the destination. Subscriptions are never copied (the destination
 * would start replicating from the publisher), nor publications. pg_restore goes on past an entry
 * it cannot create, so one missing extension does not lose the rest of the schema; what it could
 * not create is returned for the report. The archive lives in a private temporary folder, removed
 * at the end. Nothing is written to the source.
 */
async function copySchema(options) {
    const { source, destination, tools, runner, logger } = options;
    const started = Date.now();
    const timeoutMs = options.timeoutMs ?? schema_copy_DEFAULT_TIMEOUT_MS;
    const work = await (0,promises_.mkdtemp)((0,external_node_path_.join)((0,external_node_os_.tmpdir)(), 'mg-shadow-'));
    try {
        const archive = (0,external_node_path_.join)(work, 'schema.dump');
        logger.info(`Copying the schema of ${source.display} with pg_dump ${tools.pgDump.version} (schema only)`);
        const dump = await runner.run(tools.pgDump.path, [
            '--schema-only',
            '--format=custom',
            `--file=${archive}`,
            '--no-password',
            `--lock-wait-timeout=${Math.max(1, Math.round(options.lockWaitTimeoutMs))}`,
            '--no-subscriptions',
            '--no-publications',
            ...options.excludeSchemas.map((s) => `--exclude-schema=${s}`),
        ], { env: pgEnv(source, tools.pgDump.major), timeoutMs, signal: options.signal });
        throwIfCancelled(options.signal);
        if (dump.code !== 0)
            throw schema_copy_dumpFailure(dump.stderr, options, passwordScrubber(source));
        const toc = await readToc(archive, tools, runner, 'shadow-database');
        const restore = await runner.run(tools.pgRestore.path, [
            `--dbname=${conninfoDbname(destination.database)}`,
            '--no-password',
            '--no-subscriptions',
            '--no-publications',
            ...(options.keepOwners ? [] : ['--no-owner']),
            ...(options.keepPrivileges ? [] : ['--no-privileges']),
            archive,
        ], { env: pgEnv(destination, tools.pgRestore.major), timeoutMs, signal: options.signal });
        throwIfCancelled(options.signal);
        const scrub = passwordScrubber(destination);
        const notCopied = restoreErrors(scrub(restore.stderr));
        if (restore.code !== 0 && notCopied.length === 0) {
            throw new errors/* GuardError */.U$('shadow-database', `pg_restore could not copy the schema into the shadow database ${destination.display}: ${scrub(lastLines(restore.stderr)) || `exit ${restore.code}`}. The target was not changed.`, {
                hint: 'Check shadow-database-url (host, port, password) and that its user may create objects there.',
            });
        }
        return { entries: toc.entries.length, notCopied, durationMs: Date.now() - started };
    }
    finally {
        await (0,promises_.rm)(work, { recursive: true, force: true });
    }
}
function throwIfCancelled(signal) {
    if (signal?.aborted)
        throw new errors/* GuardError */.U$('cancelled', 'Cancelled while copying the schema into the shadow database; the target was not changed');
}
/**
 * A database name as a libpq conninfo value: pg_restore reads a --dbname holding "=" as a
 * connection string, so the name is always given as one, quoted. Host, user and password travel
 * in the environment (pgEnv), never on the command line.
 */
function conninfoDbname(name) {
    return `dbname='${name.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}
/** pg_restore's "could not execute query: ERROR: …" lines, one per entry it could not create. */
function restoreErrors(stderr) {
    const errors = [...stderr.matchAll(/could not execute query: (?:ERROR|FATAL):\s*(.*)/g)].map((m) => m[1].trim());
    if (errors.length <= ERRORS_LISTED)
        return errors;
    return [...errors.slice(0, ERRORS_LISTED), `… and ${errors.length - ERRORS_LISTED} more`];
}
function schema_copy_dumpFailure(stderr, options, scrub) {
    const said = scrub(lastLines(stderr));
    const fail = (message, hint) => new errors/* GuardError */.U$('shadow-database', `${message}. Nothing was changed.${said ? `\npg_dump said:\n${said}` : ''}`, { hint });
    if (isLockWaitFailure(stderr)) {
        return fail(`pg_dump gave up copying the schema of ${options.source.display}: another session holds a lock on a table ` +
            `(pg_dump waited ${options.lockWaitTimeoutMs} ms, the lock-timeout, for a share lock rather than queue behind it)`, 'Run plan again once the transaction holding the lock (often DDL or a long maintenance command) has finished.');
    }
    if (/server version mismatch/i.test(stderr)) {
        const server = /server version:\s*(\d+)/i.exec(stderr)?.[1];
        return fail(`pg_dump ${options.tools.pgDump.version} cannot copy the schema of this server: server version mismatch`, fixHint(server ? Number(server) : options.tools.pgDump.major + 1));
    }
    return fail(`pg_dump could not copy the schema of ${options.source.display}`, 'Read pg_dump’s message above: database-url must reach the target with a user that can read every schema.');
}

;// CONCATENATED MODULE: ./src/backup/index.ts
/**
 * What the commands use of src/backup, imported on demand (`await import('../backup/index.js')`):
 * one chunk of the bundle, loaded by the runs that take, restore or copy a dump. A run with nothing
 * to do never loads it, nor node:child_process (~2 ms at every start otherwise).
 */








/***/ })

};
