/** Extraction of pg_basebackup tars into a scratch data folder: content, modes, unsafe names refused. */
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import * as tar from 'tar-stream';
import { isBackupError } from '../../../core/errors';
import { extractTar } from '../../../core/sources/postgres-pitr/extract';

let folder: string;
beforeEach(() => (folder = mkdtempSync(join(tmpdir(), 'pitr-extract-'))));
afterEach(() => rmSync(folder, { recursive: true, force: true }));

async function tarOf(
	entries: Array<{ name: string; type?: 'directory' | 'file'; content?: string | Buffer }>,
): Promise<Buffer> {
	const pack = tar.pack();
	const chunks: Buffer[] = [];
	pack.on('data', (c: unknown) => void chunks.push(c as Buffer));
	const ended = new Promise<void>((resolve) => pack.on('end', () => resolve()));
	for (const e of entries) {
		if (e.type === 'directory') pack.entry({ name: e.name, type: 'directory', mode: 0o700 });
		else pack.entry({ name: e.name, mode: 0o600 }, e.content ?? '');
	}
	pack.finalize();
	await ended;
	return Buffer.concat(chunks);
}

test('files, empty files and folders land with PostgreSQL modes; gzip is read by its extension (also .gz.partial)', async () => {
	const big = Buffer.alloc(3 * 1024 * 1024, 7);
	const entries = [
		{ name: 'global/', type: 'directory' as const },
		{ name: 'global/pg_control', content: 'control' },
		{ name: 'backup_label', content: 'START WAL LOCATION: 0/2000028' },
		...Array.from({ length: 200 }, (_, i) => ({ name: `pg_wal/archive_status/${i}.done` })),
		{ name: 'base/1/1259', content: big },
		{ name: 'tablespace_map' },
	];
	const archive = join(folder, 'base.tar.gz');
	writeFileSync(archive, gzipSync(await tarOf(entries)));
	const target = join(folder, 'data');
	const result = await extractTar(archive, target);
	expect(result.files).toBe(204);
	expect(readFileSync(join(target, 'global', 'pg_control'), 'utf8')).toBe('control');
	expect(readFileSync(join(target, 'base', '1', '1259')).equals(big)).toBe(true);
	expect(statSync(join(target, 'tablespace_map')).size).toBe(0);
	expect(statSync(join(target, 'pg_wal', 'archive_status', '199.done')).isFile()).toBe(true);
	expect(statSync(target).mode & 0o777).toBe(0o700);
	expect(statSync(join(target, 'backup_label')).mode & 0o777).toBe(0o600);

	const partial = join(folder, '000000010000000000000003.gz.partial');
	writeFileSync(partial, gzipSync(await tarOf([{ name: 'x', content: 'y' }])));
	expect((await extractTar(partial, join(folder, 'p'))).files).toBe(1);
});

test('an entry that would land outside the folder is refused', async () => {
	const archive = join(folder, 'evil.tar');
	writeFileSync(
		archive,
		await tarOf([
			{ name: 'ok', content: 'fine' },
			{ name: '../evil', content: 'bad' },
		]),
	);
	let error: unknown;
	try {
		await extractTar(archive, join(folder, 'data'));
	} catch (e) {
		error = e;
	}
	expect(isBackupError(error) && error.code).toBe('UNSAFE_ARCHIVE');
	expect(existsSync(join(folder, 'evil'))).toBe(false);
});

test('a truncated archive is an error naming the file, not a hang', async () => {
	const archive = join(folder, 'cut.tar.gz');
	const whole = gzipSync(await tarOf([{ name: 'big', content: Buffer.alloc(1 << 20, 1) }]));
	writeFileSync(archive, whole.subarray(0, whole.length >> 1));
	await expect(extractTar(archive, join(folder, 'data'))).rejects.toThrow(/cut\.tar\.gz/);
});
