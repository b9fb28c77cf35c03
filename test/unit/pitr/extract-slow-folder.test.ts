/**
 * Regression: the restore test hung (past jest's 240 s, the engine's 5-minute stall guard not yet
 * due) with an empty data folder. tar-stream's extractor announces an entry only to listeners
 * present at that moment, and its async iterator attaches its listener when iteration starts:
 * extractTar piped the archive in, then awaited creating the target folder, then began to
 * iterate. When the first entry was parsed during that await it went to nobody and the extractor
 * waited for it forever. Here creating the folder is made slow on purpose (one second, while the
 * small archive is read in milliseconds), which made every run hang.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import * as tar from 'tar-stream';

jest.mock('node:fs/promises', () => {
	const actual = jest.requireActual<typeof import('node:fs/promises')>('node:fs/promises');
	return {
		...actual,
		mkdir: async (...args: Parameters<typeof actual.mkdir>) => {
			await new Promise((resolve) => setTimeout(resolve, 1000));
			return actual.mkdir(...args);
		},
	};
});

// Imported after the mock is declared (jest hoists jest.mock above imports anyway).
import { extractTar } from '../../../core/sources/postgres-pitr/extract';

let folder: string;
beforeEach(() => (folder = mkdtempSync(join(tmpdir(), 'pitr-extract-slow-'))));
afterEach(() => rmSync(folder, { recursive: true, force: true }));

async function smallTar(): Promise<Buffer> {
	const pack = tar.pack();
	const chunks: Buffer[] = [];
	pack.on('data', (c: unknown) => void chunks.push(c as Buffer));
	const ended = new Promise<void>((resolve) => pack.on('end', () => resolve()));
	pack.entry({ name: 'PG_VERSION', mode: 0o600 }, '15\n');
	pack.entry({ name: 'global/pg_control', mode: 0o600 }, 'control');
	pack.finalize();
	await ended;
	return Buffer.concat(chunks);
}

test('a first entry parsed while the target folder is still being created is extracted, not lost (no hang)', async () => {
	const archive = join(folder, 'base.tar.gz');
	writeFileSync(archive, gzipSync(await smallTar()));
	const target = join(folder, 'data');
	let timer: NodeJS.Timeout | undefined;
	const hung = new Promise<'hung'>((resolve) => {
		timer = setTimeout(() => resolve('hung'), 30_000);
	});
	try {
		const outcome = await Promise.race([extractTar(archive, target), hung]);
		expect(outcome).not.toBe('hung');
		expect(outcome).toMatchObject({ files: 2 });
	} finally {
		clearTimeout(timer);
	}
	expect(readFileSync(join(target, 'PG_VERSION'), 'utf8')).toBe('15\n');
	expect(readFileSync(join(target, 'global', 'pg_control'), 'utf8')).toBe('control');
}, 60_000);
