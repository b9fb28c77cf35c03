import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import * as tar from 'tar-stream';
import { BackupError } from '../../errors';
import { decompress } from './compression';

/**
 * The path segments of an archive entry name, or an error when the name could escape the
 * folder it is extracted into: absolute (`/etc`, `C:\`, `\\server`), with `..`, empty or NUL.
 * Backslashes count as separators, as they would on Windows.
 */
export function entrySegments(name: string): string[] {
	const problem = name.includes('\0')
		? 'contains a NUL character'
		: /^[\\/]/.test(name) || /^[A-Za-z]:/.test(name)
			? 'is an absolute path'
			: undefined;
	const segments = name.split(/[\\/]+/).filter((s) => s !== '' && s !== '.');
	const reason =
		problem ?? (segments.includes('..') ? 'contains ".."' : segments.length === 0 ? 'is empty' : undefined);
	if (reason)
		throw new BackupError(
			'UNSAFE_ARCHIVE',
			`Archive entry "${name.slice(0, 200)}" ${reason}; extracting it could write outside the target folder`,
			'This archive was not written by TOTVS Dump or was altered: do not restore it. Nothing was written outside the target folder.',
		);
	return segments;
}

export interface ArchiveEntry {
	header: tar.Header;
	/** Forward-slash path, checked by entrySegments. */
	path: string;
	segments: string[];
	/** Entry content; must be consumed (or resumed) before the next entry comes. */
	stream: Readable;
}

/**
 * Reads an archive of a set entry by entry, decompressing as it goes. Every entry name is
 * checked before the caller sees it; `visit` must consume the entry's stream.
 */
export async function readArchive(
	archivePath: string,
	compression: string,
	visit: (entry: ArchiveEntry) => Promise<void>,
	zstdPath?: string,
): Promise<void> {
	const decompressing = await decompress(
		compression,
		createReadStream(archivePath, { highWaterMark: 1 << 20 }),
		zstdPath,
	);
	const extract = tar.extract();
	decompressing.output.pipe(extract as unknown as NodeJS.WritableStream);
	decompressing.output.on('error', (error) => extract.destroy(error));
	try {
		for await (const item of extract) {
			const header = item.header;
			const stream = item as unknown as Readable;
			if (String(header.type).startsWith('pax-')) {
				stream.resume();
				continue;
			}
			const segments = entrySegments(header.name);
			await visit({ header, path: segments.join('/'), segments, stream });
		}
	} catch (error) {
		extract.destroy();
		decompressing.output.destroy();
		await decompressing.done.catch(() => undefined);
		if (error instanceof BackupError) throw error;
		throw new BackupError(
			'VERIFY_FAILED',
			`Archive ${archivePath} cannot be read: ${(error as Error).message}`,
			'The archive is damaged or truncated. Use another copy of the set, or make a new backup.',
			{ cause: error },
		);
	}
	try {
		await decompressing.done;
	} catch (error) {
		if (error instanceof BackupError)
			throw new BackupError('VERIFY_FAILED', `Archive ${archivePath} cannot be read: ${error.message}`, error.hint);
		throw new BackupError(
			'VERIFY_FAILED',
			`Archive ${archivePath} cannot be decompressed: ${(error as Error).message}`,
			'The archive is damaged or truncated.',
		);
	}
}
