import { createReadStream } from 'node:fs';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import * as tar from 'tar-stream';
import type { ArtifactRecord, Manifest } from '../../backup-set/manifest';
import { openArtifact } from '../../backup-set/sealed-read';
import { BackupError, systemErrorCode } from '../../errors';
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
 * Reads an archive file entry by entry, decompressing as it goes. Every entry name is checked
 * before the caller sees it; `visit` must consume the entry's stream.
 */
export async function readArchive(
	archivePath: string,
	compression: string,
	visit: (entry: ArchiveEntry) => Promise<void>,
	zstdPath?: string,
): Promise<void> {
	return readArchiveStream(
		() => createReadStream(archivePath, { highWaterMark: 1 << 20 }),
		archivePath,
		compression,
		visit,
		zstdPath,
	);
}

/**
 * A set's archive artifact, read through openArtifact (core/backup-set/sealed-read.ts): decrypted
 * on the fly when `manifest` is sealed, nothing decrypted written anywhere.
 */
export async function readSetArchive(
	setFolder: string,
	manifest: Manifest,
	artifact: ArtifactRecord,
	compression: string,
	visit: (entry: ArchiveEntry) => Promise<void>,
	zstdPath?: string,
): Promise<void> {
	return readArchiveStream(
		() => openArtifact(setFolder, manifest, artifact),
		join(setFolder, ...artifact.path.split('/')),
		compression,
		visit,
		zstdPath,
	);
}

/**
 * The archive `open` gives, entry by entry. A damaged archive's error names the archive and the
 * entry it was reading (or the last one read whole), so the operator knows which file is hit.
 */
async function readArchiveStream(
	open: () => Readable,
	archivePath: string,
	compression: string,
	visit: (entry: ArchiveEntry) => Promise<void>,
	zstdPath?: string,
): Promise<void> {
	const decompressing = await decompress(compression, open(), zstdPath);
	const extract = tar.extract();
	decompressing.output.pipe(extract as unknown as NodeJS.WritableStream);
	decompressing.output.on('error', (error) => extract.destroy(error));
	let current: string | undefined;
	let last: string | undefined;
	// A file-system error of the caller's visit (a full disk, no permission) is not a damaged archive.
	let fromVisit: unknown;
	const where = () =>
		current ? ` at entry "${current}"` : last ? ` after entry "${last}"` : ' before its first entry';
	try {
		for await (const item of extract) {
			const header = item.header;
			const stream = item as unknown as Readable;
			if (String(header.type).startsWith('pax-')) {
				stream.resume();
				continue;
			}
			current = header.name;
			const segments = entrySegments(header.name);
			await visit({ header, path: segments.join('/'), segments, stream }).catch((error: unknown) => {
				if (systemErrorCode(error)) fromVisit = error;
				throw error;
			});
			last = current;
			current = undefined;
		}
	} catch (error) {
		extract.destroy();
		decompressing.output.destroy();
		await decompressing.done.catch(() => undefined);
		if (error instanceof BackupError || (fromVisit !== undefined && error === fromVisit)) throw error;
		throw new BackupError(
			'VERIFY_FAILED',
			`Archive ${archivePath} cannot be read${where()}: ${(error as Error).message}`,
			'The archive is damaged or truncated. Use another copy of the set, or make a new backup.',
			{ cause: error },
		);
	}
	try {
		await decompressing.done;
	} catch (error) {
		if (error instanceof BackupError)
			throw new BackupError(
				'VERIFY_FAILED',
				`Archive ${archivePath} cannot be read${where()}: ${error.message}`,
				error.hint,
			);
		throw new BackupError(
			'VERIFY_FAILED',
			`Archive ${archivePath} cannot be decompressed${where()}: ${(error as Error).message}`,
			'The archive is damaged or truncated.',
		);
	}
}
