import { spawn } from 'node:child_process';
import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { finished, pipeline } from 'node:stream/promises';
import { PassThrough, type Readable, type Writable } from 'node:stream';
import { createGunzip, createGzip } from 'node:zlib';
import { BackupError } from '../../errors';
import { BoundedTail } from '../../pipeline/bounded-tail';

/**
 * Compression of the tar stream. Node 20's zlib has no zstd, so zstd runs as the `zstd`
 * command (spawned without a shell, streamed through stdin/stdout); where it is not
 * installed, gzip from zlib is used and the manifest says so.
 */
export type ArchiveCompression = 'zstd' | 'gzip' | 'none';

export interface Codec {
	method: ArchiveCompression;
	level: number | null;
	/** For the manifest: "zstd 1.5.4", "gzip (zlib 1.3)". */
	description: string;
	zstdPath?: string;
}

/** A running (de)compression: read `output`; `done` settles when the whole stream went through. */
export interface Running {
	output: Readable;
	done: Promise<void>;
	/** Bytes the compressor process wrote (zstd), to check that all of them reached the file. */
	producedBytes?: () => number;
}

export const ARCHIVE_EXTENSION: Record<ArchiveCompression, string> = { zstd: 'tar.zst', gzip: 'tar.gz', none: 'tar' };

/** The zstd command on PATH (zstd.exe on Windows), or undefined. */
export async function findZstd(explicit?: string): Promise<string | undefined> {
	const names = process.platform === 'win32' ? ['zstd.exe', 'zstd'] : ['zstd'];
	const candidates = explicit
		? [explicit]
		: (process.env.PATH ?? '')
				.split(delimiter)
				.filter(Boolean)
				.flatMap((dir) => names.map((n) => join(dir, n)));
	for (const candidate of candidates) {
		try {
			await access(candidate, constants.X_OK);
			return candidate;
		} catch {
			// next
		}
	}
	return undefined;
}

async function zstdVersion(zstdPath: string): Promise<string> {
	const child = spawn(zstdPath, ['--version'], { stdio: ['ignore', 'pipe', 'ignore'] });
	let text = '';
	child.stdout.on('data', (chunk: Buffer) => (text += chunk.toString()));
	await new Promise((resolve, reject) => {
		child.on('error', reject);
		child.on('close', resolve);
	});
	return /v(\d+\.\d+\.\d+)/.exec(text)?.[1] ?? 'unknown version';
}

/** Picks the codec for a backup: zstd when asked and installed, else gzip (said in the description). */
export async function chooseCodec(wanted: ArchiveCompression, level: number | null, zstdPath?: string): Promise<Codec> {
	if (wanted === 'none') return { method: 'none', level: null, description: 'none' };
	const [min, max] = wanted === 'zstd' ? [1, 22] : [1, 9];
	if (level !== null && (!Number.isInteger(level) || level < min || level > max))
		throw new BackupError(
			'INVALID_INPUT',
			`Compression level ${level} is not valid for ${wanted}`,
			`Use ${min} to ${max}, or -1 for the default.`,
		);
	if (wanted === 'zstd') {
		const found = await findZstd(zstdPath);
		if (found) return { method: 'zstd', level, description: `zstd ${await zstdVersion(found)}`, zstdPath: found };
	}
	const gzipLevel = wanted === 'gzip' ? level : null;
	return {
		method: 'gzip',
		level: gzipLevel,
		description: `gzip (zlib ${process.versions.zlib})${wanted === 'zstd' ? ', zstd command not found' : ''}`,
	};
}

/** A compression being fed by the caller: write to `input` (with backpressure), end it, read `output`. */
export interface Compressor extends Running {
	input: Writable;
	/** A chunk written to `input` is no longer referenced once its write callback ran, so its buffer may be refilled. */
	releasesChunks: boolean;
}

/** Runs the zstd command; `feed` supplies its stdin and settles when all of it went in. Its exit status is part of `done`. */
function runZstd(
	zstdPath: string,
	args: string[],
	what: string,
	feed: (stdin: Writable) => Promise<unknown>,
): Compressor {
	const child = spawn(zstdPath, args, { stdio: ['pipe', 'pipe', 'pipe'], windowsHide: true });
	const stderr = new BoundedTail(4096);
	child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
	const exited = new Promise<number | null>((resolve, reject) => {
		child.on('error', reject);
		child.on('close', (code) => resolve(code));
	});
	const feeding = feed(child.stdin).catch((error: unknown) => {
		child.kill('SIGTERM');
		throw error;
	});
	const done = (async () => {
		const [fed, code] = await Promise.allSettled([feeding, exited]);
		if (fed.status === 'rejected') throw fed.reason;
		if (code.status === 'rejected') throw code.reason;
		if (code.value !== 0)
			throw new BackupError(
				'DUMP_FAILED',
				`zstd failed while ${what} (exit code ${code.value ?? 'killed'}): ${stderr.text()}`,
				'The archive is damaged or the disk failed; see the message above.',
			);
	})();
	done.catch(() => undefined); // observed by the caller; avoid an unhandled rejection meanwhile
	// Consume stdout from now on: when a child exits, Node resumes (and so discards) stdio streams
	// nobody reads yet, and a small archive can be complete before the caller has attached its sink.
	const output = new PassThrough({ highWaterMark: 1 << 20 });
	child.stdout.pipe(output);
	child.stdout.on('error', (error) => output.destroy(error));
	// The reader gave up (disk full, cancelled): stop zstd instead of leaving it blocked on a full pipe.
	output.on('close', () => {
		if (!child.stdout.readableEnded) {
			child.stdout.destroy();
			child.kill('SIGTERM');
		}
	});
	let produced = 0;
	child.stdout.on('data', (chunk: Buffer) => (produced += chunk.length)); // already flowing into `output`
	return { input: child.stdin, releasesChunks: true, output, done, producedBytes: () => produced };
}

const ZSTD_ARGS = (level: number) => ['-q', '-c', '-T0', ...(level > 19 ? ['--ultra'] : []), `-${level}`];

/** Compresses what the caller writes to `input`; destroying `input` with an error abandons it. */
export function startCompression(codec: Codec): Compressor {
	if (codec.method === 'zstd')
		return runZstd(codec.zstdPath!, ZSTD_ARGS(codec.level ?? 3), 'compressing', (stdin) => finished(stdin));
	const stage =
		codec.method === 'gzip'
			? createGzip({ level: codec.level ?? 6, chunkSize: 1 << 20 })
			: new PassThrough({ highWaterMark: 1 << 20 });
	const done = finished(stage, { readable: false });
	done.catch(() => undefined);
	// zlib has consumed a chunk when it calls back; a PassThrough still holds it in its queue.
	return { input: stage, releasesChunks: codec.method === 'gzip', output: stage, done };
}

export function compress(codec: Codec, input: Readable): Running {
	if (codec.method === 'none') return { output: input, done: finished(input) };
	if (codec.method === 'zstd')
		return runZstd(codec.zstdPath!, ZSTD_ARGS(codec.level ?? 3), 'compressing', (stdin) => pipeline(input, stdin));
	const gzip = createGzip({ level: codec.level ?? 6, chunkSize: 1 << 20 });
	const done = pipeline(input, gzip);
	done.catch(() => undefined);
	return { output: gzip, done };
}

/** Decompresses an archive for verify and restore; a zstd set needs the zstd command here too. */
export async function decompress(method: string, input: Readable, zstdPath?: string): Promise<Running> {
	if (method === 'none') return { output: input, done: finished(input) };
	if (method === 'gzip') {
		const gunzip = createGunzip();
		const done = pipeline(input, gunzip);
		done.catch(() => undefined);
		return { output: gunzip, done };
	}
	if (method === 'zstd') {
		const found = await findZstd(zstdPath);
		if (!found)
			throw new BackupError(
				'CLIENT_NOT_FOUND',
				'This set is compressed with zstd and the zstd command is not installed on this host',
				'Install zstd (Debian/Ubuntu: apt-get install zstd; Windows: the zstd release zip, with zstd.exe on PATH) and run again.',
			);
		return runZstd(found, ['-d', '-q', '-c'], 'decompressing', (stdin) => pipeline(input, stdin));
	}
	throw new BackupError(
		'UNSUPPORTED_OPTION',
		`Compression "${method}" is not supported for file sets`,
		'Update n8n-nodes-totvs-backup.',
	);
}
