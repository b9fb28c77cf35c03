/**
 * Issue 11 item 8, files restore: an entry larger than the size its index records is refused
 * while it streams, before more than that size reaches the disk, and the partial file is removed.
 * (Before: the whole entry was written, then compared with the index, and left behind.)
 */
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { lstat, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import type { FileEntry } from '../../../../core/backup-set/files-manifest';
import { BackupError } from '../../../../core/errors';
import { readArchive, type ArchiveEntry } from '../../../../core/sources/protheus-files/archive-reader';
import { SafeWriter } from '../../../../core/sources/protheus-files/restore/safe-writer';
import { encodeTarHeader, tarPadding, TAR_END } from '../../../../core/sources/protheus-files/tar-header';

const INDEX_SIZE = 1000;
const ACTUAL_SIZE = 32 * 1024 * 1024;
const CHUNK = 64 * 1024;

let folder: string;
let target: string;
beforeEach(async () => {
	folder = await mkdtemp(join(tmpdir(), 'totvs-restore-size-'));
	target = join(folder, 'target');
	await new SafeWriter(folder).directory(['target']);
});
afterEach(() => rm(folder, { recursive: true, force: true }));

const indexEntry = (path: string): FileEntry => ({
	path,
	type: 'file',
	size: INDEX_SIZE,
	mtime: new Date(0).toISOString(),
	mode: 0o644,
	sha256: createHash('sha256').update(Buffer.alloc(INDEX_SIZE)).digest('hex'),
	target: null,
	from: 'set-1',
});

/** `size` zero bytes, chunk by chunk; before each chunk, records the size of `path` on disk. */
function watchedContent(size: number, path: string, seen: { max: number }): Readable {
	async function* chunks() {
		for (let sent = 0; sent < size; sent += CHUNK) {
			const info = await lstat(path).catch(() => undefined);
			seen.max = Math.max(seen.max, info?.size ?? 0);
			yield Buffer.alloc(Math.min(CHUNK, size - sent));
		}
	}
	return Readable.from(chunks());
}

async function expectRefused(error: unknown, entryPath: string) {
	expect(error).toBeInstanceOf(BackupError);
	expect((error as BackupError).message).toContain(entryPath);
	expect((error as BackupError).message).toMatch(/larger than|more than/i);
	expect((error as BackupError).message).toContain(String(INDEX_SIZE));
	// The partial file is gone.
	expect(await readdir(target)).toEqual([]);
}

describe('files restore: an entry larger than its index size', () => {
	it('is refused while streaming: never more than the index size on disk, and no partial left', async () => {
		const path = 'protheus_data/sx2010.dbf';
		const out = join(target, 'sx2010.dbf');
		const seen = { max: 0 };
		// The header says what the index says; the content keeps coming (a reader that trusts neither).
		const entry: ArchiveEntry = {
			header: { name: path, type: 'file', size: INDEX_SIZE, mode: 0o644 } as ArchiveEntry['header'],
			path,
			segments: ['target', 'sx2010.dbf'],
			stream: watchedContent(ACTUAL_SIZE, out, seen),
		};
		const error = await new SafeWriter(folder).file(entry, indexEntry(path)).catch((e: unknown) => e);
		await expectRefused(error, path);
		expect(seen.max).toBeLessThanOrEqual(INDEX_SIZE);
	});

	it('a crafted archive whose entry is larger than the index says fails fast, before the entry is written', async () => {
		const path = 'target/sx2010.dbf';
		const archive = join(folder, 'crafted.tar');
		const tar = createWriteStream(archive);
		tar.write(encodeTarHeader({ name: path, type: 'file', size: ACTUAL_SIZE, mode: 0o644, mtimeMs: 0 }));
		for (let sent = 0; sent < ACTUAL_SIZE; sent += CHUNK) tar.write(Buffer.alloc(CHUNK));
		tar.write(Buffer.alloc(tarPadding(ACTUAL_SIZE)));
		tar.end(TAR_END);
		await finished(tar);
		const writer = new SafeWriter(folder);
		const error = await readArchive(archive, 'none', (entry) =>
			writer.file(entry, indexEntry(entry.path)).then(() => undefined),
		).catch((e: unknown) => e);
		await expectRefused(error, path);
	});
});
