import { spawn } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { chown, mkdir, open } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import * as tar from 'tar-stream';
import { unsealedPath } from '../../backup-set/manifest';
import { BackupError } from '../../errors';
import { BoundedTail } from '../../pipeline/bounded-tail';
import { stallGuard } from './bounded';

/** An extraction that moves no byte for this long is stuck (a hung disk or decompressor): it fails. */
export const EXTRACT_STALL_MS = 5 * 60 * 1000;

export interface Owner {
	uid: number;
	gid: number;
}

/**
 * The decompressed bytes of a file, by its extension (.gz in-process; .zst and .lz4 through
 * their commands). `done` settles when decompression ended; it is marked handled at once, so a
 * failure while the caller still reads is not an unhandled rejection (the caller awaits it).
 * `raw`: the file's bytes from elsewhere (a sealed set's, decrypted on the fly; the name then
 * ends in ".age", which is not a compression).
 */
export function decompressedStream(file: string, raw?: Readable): { stream: Readable; done: Promise<void> } {
	const opened = openDecompressed(file, raw ?? createReadStream(file, { highWaterMark: 1 << 20 }));
	opened.done.catch(() => undefined);
	return opened;
}

function openDecompressed(file: string, raw: Readable): { stream: Readable; done: Promise<void> } {
	// pg_receivewal's unfinished segment is "<name>.gz.partial": the format is before ".partial".
	const name = unsealedPath(file).replace(/\.partial$/, '');
	if (name.endsWith('.gz')) {
		const gunzip = createGunzip();
		const out = new PassThrough({ highWaterMark: 1 << 20 });
		const done = pipeline(raw, gunzip, out).catch((error: Error) => {
			// A sealed file that cannot be opened (wrong identity, altered ciphertext) says so itself.
			if (error instanceof BackupError) throw error;
			throw new BackupError(
				'VERIFY_FAILED',
				`${file} cannot be decompressed: ${error.message}`,
				'The file is damaged: use another copy of the set.',
			);
		});
		return { stream: out, done };
	}
	const command = name.endsWith('.zst') ? 'zstd' : name.endsWith('.lz4') ? 'lz4' : undefined;
	if (!command) return { stream: raw, done: Promise.resolve() };
	const child = spawn(command, ['-d', '-c', '-q'], { stdio: ['pipe', 'pipe', 'pipe'] });
	const stderr = new BoundedTail();
	child.stderr.on('data', (c: Buffer) => stderr.push(c));
	raw.pipe(child.stdin);
	child.stdin.on('error', () => undefined); // the exit status below says why
	let rawError: Error | undefined;
	raw.on('error', (error) => {
		// A sealed file that cannot be opened: that is the reason, not the decompressor's exit.
		rawError = error;
		child.stdin.destroy();
	});
	const done = new Promise<void>((resolve, reject) => {
		child.on('error', (error) =>
			reject(
				new BackupError(
					'CLIENT_NOT_FOUND',
					`${file} needs the ${command} command to be decompressed: ${error.message}`,
					`Install ${command} on the n8n host (Debian/Ubuntu: apt-get install ${command}), or make base backups with gzip compression.`,
				),
			),
		);
		child.on('close', (code) =>
			rawError
				? reject(rawError)
				: code === 0
					? resolve()
					: reject(
							new BackupError(
								'VERIFY_FAILED',
								`${command} could not decompress ${file}: ${stderr.text()}`,
								'The file is damaged: use another copy of the set.',
							),
						),
		);
	});
	return { stream: child.stdout, done };
}

/** The path segments of a tar entry, refusing names that would land outside the target folder. */
function safeSegments(name: string, archive: string): string[] {
	const segments = name.split('/').filter((s) => s !== '' && s !== '.');
	if (name.startsWith('/') || name.includes('\0') || segments.includes('..'))
		throw new BackupError(
			'UNSAFE_ARCHIVE',
			`${archive} holds an entry "${name.slice(0, 200)}" that would be written outside the restore folder`,
			'This archive was not written by pg_basebackup or was altered: do not restore it.',
		);
	return segments;
}

export interface ExtractResult {
	files: number;
	bytes: number;
	/** Symlinks found (pg_basebackup's tar format writes none; reported, not followed). */
	symlinks: Array<{ path: string; target: string }>;
}

/**
 * Extracts a pg_basebackup tar (compressed or not) into `target`, streaming, giving every file
 * to `owner` when one is named (the unprivileged user the scratch server runs as). Folders are
 * 0700 and files 0600, as PostgreSQL wants its data folder.
 */
export async function extractTar(
	archive: string,
	target: string,
	owner?: Owner,
	signal?: AbortSignal,
	raw?: Readable,
): Promise<ExtractResult> {
	const result: ExtractResult = { files: 0, bytes: 0, symlinks: [] };
	const source = decompressedStream(archive, raw);
	const extract = tar.extract();
	// tar-stream announces an entry only to listeners present at that moment, and its iterator
	// attaches its listener when created: created here, before any byte flows in and before any
	// await, or an entry parsed meanwhile goes to nobody and the extraction waits forever.
	const iterator = extract[Symbol.asyncIterator]();
	const entries = { [Symbol.asyncIterator]: () => iterator };
	source.stream.pipe(extract as unknown as NodeJS.WritableStream);
	source.stream.on('error', (error) => extract.destroy(error));
	const made = new Set<string>();
	const makeFolder = async (folder: string) => {
		if (made.has(folder)) return;
		await mkdir(folder, { recursive: true, mode: 0o700 });
		if (owner) await chown(folder, owner.uid, owner.gid);
		made.add(folder);
	};
	const guard = stallGuard(
		EXTRACT_STALL_MS,
		`Extracting ${archive}`,
		'The scratch disk or the decompressor stopped answering: check the disk (dmesg) and free space, then run again.',
	);
	const stalled = new Promise<never>((_, reject) =>
		guard.signal.addEventListener('abort', () => reject(guard.signal.reason as Error), { once: true }),
	);
	stalled.catch(() => undefined);
	const work = async () => {
		await makeFolder(target);
		for await (const entry of entries) {
			guard.touch();
			if (signal?.aborted)
				throw new BackupError(
					'CANCELLED',
					'The restore was stopped',
					'Nothing is kept: the scratch folder is removed.',
				);
			const header = entry.header;
			const stream = entry as unknown as Readable;
			const segments = safeSegments(header.name, archive);
			const path = join(target, ...segments);
			if (header.type === 'directory') {
				if (segments.length) await makeFolder(path);
				stream.resume();
			} else if (header.type === 'file' || header.type === 'contiguous-file') {
				await makeFolder(dirname(path));
				await writeEntry(stream, path, guard.touch);
				if (owner) await chown(path, owner.uid, owner.gid);
				result.files++;
				result.bytes += header.size ?? 0;
			} else if (header.type === 'symlink') {
				result.symlinks.push({ path: segments.join('/'), target: header.linkname ?? '' });
				stream.resume();
			} else {
				stream.resume();
			}
		}
		await source.done;
	};
	try {
		await Promise.race([work(), stalled]);
	} catch (error) {
		extract.destroy();
		source.stream.destroy();
		await source.done.catch(() => undefined);
		if (error instanceof BackupError) throw error;
		throw new BackupError(
			'VERIFY_FAILED',
			`${archive} cannot be extracted: ${(error as Error).message}`,
			'The archive is damaged or truncated, or the scratch disk is full: use another copy of the set, or free space.',
			{ cause: error },
		);
	} finally {
		guard.dispose();
	}
	return result;
}

/**
 * Writes one entry's bytes to a new file. tar-stream's entries are streamx streams, which
 * Node's stream.pipeline cannot always tell have ended (an empty entry that ended before
 * pipeline looked never settles it): they are read by async iteration instead.
 */
async function writeEntry(entry: Readable, path: string, progress: () => void): Promise<void> {
	const file = await open(path, 'wx', 0o600);
	try {
		for await (const chunk of entry) {
			await file.write(chunk as Buffer);
			progress();
		}
	} finally {
		await file.close();
	}
}
