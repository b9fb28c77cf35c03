/**
 * The tar writer of file sets (archive-writer.ts): the archive it streams into zstd is, byte
 * for byte, what tar-stream wrote before (so older sets, the reader and GNU tar agree), each
 * file's SHA-256 is of the bytes archived, hashes come back in entry order whether hashed on
 * the worker thread or inline, a sealed set gets the archive encrypted, and a vanished file or a
 * cancellation is handled.
 */
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, symlink, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import * as tar from 'tar-stream';
import { BackupSetWriter } from '../../../../core/backup-set/set-writer';
import { BackupError } from '../../../../core/errors';
import { AgeDecryptStream, generateAgeIdentity, parseIdentities, parseRecipients } from '../../../../core/sealing';
import { BlockWriter, writeTarArchive, type StoredFile } from '../../../../core/sources/protheus-files/archive-writer';
import { chooseCodec, decompress, type Codec } from '../../../../core/sources/protheus-files/compression';
import { FsPacer } from '../../../../core/sources/protheus-files/fs-pacer';
import { InlineHasher, WorkerHasher } from '../../../../core/sources/protheus-files/range-hasher';
import { makeSelection } from '../../../../core/sources/protheus-files/patterns';
import { labelRoots, scanTree, type TreeEntry } from '../../../../core/sources/protheus-files/tree';

const hasZstd = spawnSync('zstd', ['--version']).status === 0;
const MiB = 1 << 20;

let work: string;
let entries: TreeEntry[];
let zstd: Codec;

beforeAll(async () => {
	work = await mkdtemp(join(tmpdir(), 'totvs-archive-writer-'));
	const root = join(work, 'protheus_data');
	await mkdir(join(root, 'system'), { recursive: true });
	await mkdir(join(root, 'vazia'));
	await mkdir(join(root, `${'pasta-longa-'.repeat(9)}`));
	// Sizes around the 512-byte blocks and the 1 MiB batches (header + content crossing a batch).
	const sizes = [0, 1, 511, 512, 513, MiB - 512, MiB, MiB + 1, 3 * MiB + 7];
	for (const size of sizes) await writeFile(join(root, 'system', `t${size}.dtc`), randomBytes(size));
	// Many small files: several per batch.
	for (let i = 0; i < 300; i++)
		await writeFile(join(root, 'system', `sx${String(i).padStart(3, '0')}.dbf`), randomBytes(3000 + i * 37));
	await writeFile(join(root, 'relatório de ação.txt'), 'acentuação e espaços');
	await writeFile(join(root, `${'pasta-longa-'.repeat(9)}`, `${'nome-longo-'.repeat(12)}.ini`), '[ambiente]\n');
	await symlink('system/t1.dtc', join(root, 'atalho'));
	const scan = await scanTree(labelRoots([{ path: root, kind: 'folder' }]), makeSelection([], []));
	entries = scan.entries;
	zstd = await chooseCodec('zstd', null);
});
afterAll(async () => {
	await rm(work, { recursive: true, force: true });
});

async function archive(
	codec: Codec,
	options: {
		workerMinBytes?: number;
		list?: TreeEntry[];
		signal?: AbortSignal;
		onFile?: (entry: TreeEntry) => void;
		pacer?: FsPacer;
	} = {},
) {
	const staging = await mkdtemp(join(work, 'staging-'));
	const set = await BackupSetWriter.create(staging, 'p12', 'full', 'files', new Date());
	const files: Array<{ entry: TreeEntry; stored: StoredFile }> = [];
	const artifact = await writeTarArchive({
		set,
		artifactPath: 'files.tar.zst',
		codec,
		entries: options.list ?? entries,
		workerMinBytes: options.workerMinBytes,
		pacer: options.pacer,
		signal: options.signal,
		onFile: (entry, stored) => {
			files.push({ entry, stored });
			options.onFile?.(entry);
		},
	});
	const path = join(set.folder, 'files.tar.zst');
	const compressed = await readFile(path);
	const plain = await buffer((await decompress(codec.method, Readable.from([compressed]))).output);
	return { artifact, files, path, compressed, plain };
}

/** The same entries packed by tar-stream, as the writer did before it wrote tar blocks itself. */
async function tarStreamReference(files: Map<string, StoredFile>): Promise<Buffer> {
	const pack = tar.pack();
	const out = buffer(Readable.from(pack as unknown as AsyncIterable<Buffer>));
	for (const e of entries) {
		const stored = files.get(e.path);
		const header: Partial<tar.Header> & { name: string } = {
			name: e.path,
			type: e.type === 'dir' ? 'directory' : e.type === 'symlink' ? 'symlink' : 'file',
			size: stored?.size ?? 0,
			mode: stored?.mode ?? e.mode,
			mtime: new Date(Math.floor(stored?.mtimeMs ?? e.mtimeMs)),
			uid: e.uid,
			gid: e.gid,
			uname: e.uname,
			gname: e.gname,
			linkname: e.target ?? undefined,
		};
		await new Promise<void>((resolve, reject) => {
			const done = (error?: Error | null) => (error ? reject(error) : resolve());
			if (e.type === 'file') pack.entry(header, readFileSync(e.absolute), done);
			else pack.entry(header, done);
		});
	}
	pack.finalize();
	return out;
}

/** Entry names of an uncompressed archive, as tar-stream (the restore's reader) sees them. */
async function entryNames(plain: Buffer): Promise<string[]> {
	const names: string[] = [];
	const extract = tar.extract();
	extract.on('entry', (header, stream, next) => {
		names.push(header.name);
		stream.resume();
		stream.on('end', next);
	});
	await new Promise<void>((resolve, reject) => {
		extract.on('finish', () => resolve());
		extract.on('error', reject);
		extract.end(plain);
	});
	return names;
}

const withZstd = (name: string, fn: () => Promise<void>) =>
	hasZstd ? it(name, fn) : it.skip(`skipped: zstd is not installed: ${name}`, fn);

describe('writeTarArchive', () => {
	withZstd(
		'writes what tar-stream wrote, with every file hashed, in entry order, on the worker thread and inline alike',
		async () => {
			const onWorker = await archive(zstd, { workerMinBytes: 0 });
			const inline = await archive(zstd, { workerMinBytes: Infinity });
			const fileEntries = entries.filter((e) => e.type === 'file');
			for (const run of [onWorker, inline]) {
				expect(run.files.map((f) => f.entry.path)).toEqual(fileEntries.map((e) => e.path));
				for (const { entry, stored } of run.files) {
					const content = await readFile(entry.absolute);
					expect({
						path: entry.path,
						sha256: stored.sha256,
						size: stored.size,
						inconsistent: stored.inconsistent,
						skipped: stored.skipped,
					}).toEqual({
						path: entry.path,
						sha256: createHash('sha256').update(content).digest('hex'),
						size: content.length,
						inconsistent: undefined,
						skipped: undefined,
					});
				}
				expect(run.artifact.sha256).toBe(createHash('sha256').update(run.compressed).digest('hex'));
				expect(run.artifact.bytes).toBe(run.compressed.length);
			}
			expect(onWorker.plain.equals(inline.plain)).toBe(true);
			const reference = await tarStreamReference(new Map(onWorker.files.map((f) => [f.entry.path, f.stored])));
			expect(onWorker.plain.length).toBe(reference.length);
			expect(onWorker.plain.equals(reference)).toBe(true);
		},
	);

	withZstd(
		'writes the same archive and hashes on a slow filesystem (asynchronous reads, small files read ahead)',
		async () => {
			const fast = await archive(zstd, { workerMinBytes: 0 });
			const slowPacer = new FsPacer(20, 2, 0); // every call counts as slow from the start
			expect(slowPacer.slow).toBe(true);
			const slow = await archive(zstd, { workerMinBytes: 0, pacer: slowPacer });
			expect(slow.plain.equals(fast.plain)).toBe(true);
			expect(slow.files.map((f) => [f.entry.path, f.stored.sha256])).toEqual(
				fast.files.map((f) => [f.entry.path, f.stored.sha256]),
			);
		},
	);

	withZstd('is extracted by GNU tar into the same tree', async () => {
		const { path } = await archive(zstd, { workerMinBytes: 0 });
		const target = await mkdtemp(join(work, 'gnu-'));
		const run = spawnSync('tar', ['-I', 'zstd', '-xpf', path, '-C', target], { encoding: 'utf8' });
		expect(run.stderr).toBe('');
		expect(run.status).toBe(0);
		for (const e of entries.filter((x) => x.type === 'file'))
			expect((await readFile(join(target, e.path))).equals(await readFile(e.absolute))).toBe(true);
	});

	it('writes the same archive with gzip and without compression', async () => {
		for (const method of ['gzip', 'none'] as const) {
			const codec = await chooseCodec(method, null);
			const run = await archive(codec, { workerMinBytes: 0 });
			expect(run.files.length).toBe(entries.filter((e) => e.type === 'file').length);
			expect(run.plain.length % 512).toBe(0);
			expect(await entryNames(run.plain)).toEqual(entries.map((e) => e.path));
		}
	});

	withZstd("writes a sealed set's archive encrypted, zstd's bytes checked against the plaintext it took", async () => {
		const key = generateAgeIdentity();
		const staging = await mkdtemp(join(work, 'sealed-'));
		const set = await BackupSetWriter.create(staging, 'p12', 'full', 'files', new Date(), {
			recipients: parseRecipients(key.recipient),
		});
		const artifact = await writeTarArchive({
			set,
			artifactPath: 'files.tar.zst',
			codec: zstd,
			entries,
			onFile: () => {},
		});
		expect(artifact.path).toBe('files.tar.zst.age');
		const ciphertext = await readFile(join(set.folder, artifact.path));
		expect(ciphertext.length).toBe(artifact.bytes);
		const compressed = await buffer(
			Readable.from([ciphertext]).pipe(new AgeDecryptStream(parseIdentities(key.identity), { name: artifact.path })),
		);
		const plain = await buffer((await decompress('zstd', Readable.from([compressed]))).output);
		expect(await entryNames(plain)).toEqual(entries.map((e) => e.path));
	});

	withZstd('leaves out a file that vanished after the walk, and says so in order', async () => {
		const gone = join(work, 'protheus_data', 'some.tmp');
		await writeFile(gone, 'x');
		const list = (
			await scanTree(labelRoots([{ path: join(work, 'protheus_data'), kind: 'folder' }]), makeSelection([], []))
		).entries;
		await unlink(gone);
		const run = await archive(zstd, { list, workerMinBytes: 0 });
		const skipped = run.files.find((f) => f.entry.path === 'protheus_data/some.tmp');
		expect(skipped?.stored.skipped).toBe('vanished during the backup');
		expect(run.files.map((f) => f.entry.path)).toEqual(list.filter((e) => e.type === 'file').map((e) => e.path));
		const names = await entryNames(run.plain);
		expect(names).not.toContain('protheus_data/some.tmp');
		expect(names.length).toBe(list.length - 1);
	});

	withZstd('stops when cancelled part way, with a clear error', async () => {
		const cancel = new AbortController();
		let seen = 0;
		const error = await archive(zstd, {
			workerMinBytes: 0,
			signal: cancel.signal,
			onFile: () => ++seen === 20 && cancel.abort(),
		}).then(
			() => undefined,
			(e: unknown) => e,
		);
		expect(error).toBeInstanceOf(BackupError);
		expect((error as BackupError).message).toContain('stopped');
	});
});

describe('BlockWriter', () => {
	it('keeps at most its backlog waiting in a slow consumer, and delivers every byte in order', async () => {
		const received: Buffer[] = [];
		let most = 0;
		const slow = new Writable({
			highWaterMark: 1,
			write(chunk: Buffer, _encoding, callback) {
				received.push(Buffer.from(chunk)); // a copy: the writer refills buffers once called back
				setImmediate(callback);
			},
		});
		const stop = new AbortController();
		const out = new BlockWriter(slow, stop.signal, {
			reuse: true,
			hasher: new InlineHasher(),
			onDigests: () => undefined,
		});
		const data = randomBytes(40 * MiB + 123);
		for (let offset = 0; offset < data.length; offset += 300_000) {
			if (out.behind) await out.catchUp();
			out.put(data.subarray(offset, offset + 300_000));
			most = Math.max(most, slow.writableLength);
		}
		out.flush();
		await new Promise<void>((resolve) => slow.end(resolve));
		expect(Buffer.concat(received).equals(data)).toBe(true);
		expect(most).toBeLessThanOrEqual(9 * MiB);
	});
});

describe('range hashers', () => {
	it('hash files spread over several shared buffers, on the worker as inline, in order', async () => {
		const files = [randomBytes(0), randomBytes(100), randomBytes(2500), randomBytes(700), randomBytes(4000)];
		const expected = files.map((f) => createHash('sha256').update(f).digest('hex'));
		// Lay the files end to end over buffers of 1000 bytes, as the tar batches do.
		const buffers: Array<{ buffer: Buffer; ranges: number[] }> = [];
		let current = { buffer: Buffer.from(new SharedArrayBuffer(1000)), ranges: [] as number[] };
		let used = 0;
		files.forEach((file, id) => {
			for (let offset = 0; offset < file.length;) {
				if (used === 1000) {
					buffers.push(current);
					current = { buffer: Buffer.from(new SharedArrayBuffer(1000)), ranges: [] };
					used = 0;
				}
				const n = Math.min(1000 - used, file.length - offset);
				file.copy(current.buffer, used, offset, offset + n);
				current.ranges.push(id, used, used + n, 0);
				used += n;
				offset += n;
			}
			current.ranges.push(id, used, used, 1);
		});
		buffers.push(current);
		for (const hasher of [new WorkerHasher(), new InlineHasher()]) {
			try {
				const digests = (await Promise.all(buffers.map((b) => hasher.hash(b.buffer, b.ranges)))).flat();
				expect(digests).toEqual(expected.map((sha256, id) => [id, sha256]));
			} finally {
				await hasher.close();
			}
		}
	});

	it('refuses buffers the worker cannot share, and work after close', async () => {
		const hasher = new WorkerHasher();
		await expect(hasher.hash(Buffer.alloc(10), [0, 0, 10, 1])).rejects.toThrow('SharedArrayBuffer');
		await hasher.close();
		await expect(hasher.hash(Buffer.from(new SharedArrayBuffer(10)), [0, 0, 10, 1])).rejects.toThrow('closed');
	});
});
