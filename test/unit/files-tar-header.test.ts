import { spawnSync } from 'node:child_process';
import { lstat, mkdir, mkdtemp, readFile, readlink, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import * as tar from 'tar-stream';
import { encodeTarHeader, tarPadding, TAR_END, type TarHeaderFields } from '../../core/sources/protheus-files/tar-header';

type Entry = TarHeaderFields & { content?: Buffer };

const when = Date.UTC(2025, 2, 14, 9, 26, 53, 589);
const longFolder = `protheus_data/${'x'.repeat(90)}/${'y'.repeat(60)}`;
const entries: Entry[] = [
	{ name: 'apo', type: 'directory', size: 0, mode: 0o755, mtimeMs: when, uid: 0, gid: 0 },
	{ name: 'apo/tttp120.rpo', type: 'file', size: 5, mode: 0o644, mtimeMs: when + 0.7, uid: 1000, gid: 1000, content: Buffer.from('RPO\u0000!') },
	{ name: 'apo/vazio.ini', type: 'file', size: 0, mode: 0o600, mtimeMs: when, uid: 1000, gid: 1000, content: Buffer.alloc(0) },
	// Longer than 100 bytes but splittable into ustar's prefix and name.
	{ name: longFolder, type: 'directory', size: 0, mode: 0o700, mtimeMs: when, uid: 1, gid: 2 },
	{ name: `${longFolder}/sx2010.dtc`, type: 'file', size: 513, mode: 0o640, mtimeMs: when, uid: 1, gid: 2, content: Buffer.alloc(513, 0x5a) },
	// One path segment longer than 100 bytes: only pax can hold it.
	{ name: `protheus_data/${'z'.repeat(150)}.dbf`, type: 'file', size: 512, mode: 0o644, mtimeMs: when, content: Buffer.alloc(512, 1) },
	// Accented (not ASCII) names, spaces: pax.
	{ name: 'protheus_data/relatórios', type: 'directory', size: 0, mode: 0o750, mtimeMs: when },
	{ name: 'protheus_data/relatórios/ação de cobrança.txt', type: 'file', size: 7, mode: 0o664, mtimeMs: when, content: Buffer.from('cobrado') },
	{ name: 'protheus_data/atalho', type: 'symlink', size: 0, mode: 0o777, mtimeMs: when, linkname: 'relatórios/ação de cobrança.txt' },
	{ name: 'protheus_data/atalho-longo', type: 'symlink', size: 0, mode: 0o777, mtimeMs: when, linkname: `${'../'.repeat(2)}${'l'.repeat(120)}` },
	{ name: 'protheus_data/setuid.sh', type: 'file', size: 3, mode: 0o4755, mtimeMs: when, uid: 70_000_000, gid: 3, content: Buffer.from('#!\n') },
	// Mode 0 is written as tar-stream wrote it (0644).
	{ name: 'protheus_data/sem-permissao', type: 'file', size: 1, mode: 0, mtimeMs: 0, content: Buffer.from('x') },
];

function ourArchive(list: Entry[]): Buffer {
	const parts: Buffer[] = [];
	for (const e of list) {
		parts.push(encodeTarHeader(e));
		if (e.content) parts.push(e.content, Buffer.alloc(tarPadding(e.content.length)));
	}
	parts.push(TAR_END);
	return Buffer.concat(parts);
}

async function tarStreamArchive(list: Entry[]): Promise<Buffer> {
	const pack = tar.pack();
	const out = buffer(Readable.from(pack as unknown as AsyncIterable<Buffer>));
	for (const e of list) {
		const header: Partial<tar.Header> & { name: string } = { name: e.name, type: e.type, size: e.size, mode: e.mode, mtime: new Date(Math.floor(e.mtimeMs)), uid: e.uid, gid: e.gid, linkname: e.linkname ?? undefined };
		await new Promise<void>((resolve, reject) => {
			const done = (error?: Error | null) => (error ? reject(error) : resolve());
			if (e.content) pack.entry(header, e.content, done);
			else pack.entry(header, done);
		});
	}
	pack.finalize();
	return out;
}

describe('tar headers', () => {
	it('are byte for byte what tar-stream wrote (older sets and the reader see one format)', async () => {
		expect(ourArchive(entries).equals(await tarStreamArchive(entries))).toBe(true);
	});

	it('pads content to 512-byte blocks and ends with two zero blocks', () => {
		expect([0, 1, 511, 512, 513].map(tarPadding)).toEqual([0, 511, 1, 0, 511]);
		expect(encodeTarHeader(entries[1]).length).toBe(512);
		const pax = encodeTarHeader(entries[7]);
		expect(pax.length).toBe(3 * 512); // pax header, its records, the entry's header
		expect(pax.subarray(512, 1024).toString('utf8')).toContain('path=protheus_data/relatórios/ação de cobrança.txt\n');
		expect(TAR_END.equals(Buffer.alloc(1024))).toBe(true);
	});

	it('writes sizes of 8 GiB and more in base-256, as GNU tar reads them', () => {
		const block = encodeTarHeader({ name: 'apo/huge.dtc', type: 'file', size: 9 * 2 ** 30, mode: 0o644, mtimeMs: when });
		expect(block[124]).toBe(0x80);
		expect(block.readUIntBE(124 + 6, 6)).toBe(9 * 2 ** 30);
		const headers = tar.extract();
		const seen = new Promise<number>((resolve) => headers.on('entry', (header) => resolve(header.size ?? -1)));
		headers.write(block);
		return expect(seen).resolves.toBe(9 * 2 ** 30);
	});

	const hasTar = spawnSync('tar', ['--version']).status === 0;
	(hasTar ? it : it.skip)(hasTar ? 'are extracted by GNU tar with names, links, content, modes and times intact' : 'skipped: GNU tar is not installed', async () => {
		const work = await mkdtemp(join(tmpdir(), 'totvs-tar-header-'));
		try {
			const archive = join(work, 'a.tar');
			await writeFile(archive, ourArchive(entries));
			const target = join(work, 'out');
			await mkdir(target);
			const run = spawnSync('tar', ['-xpf', archive, '-C', target, '--no-same-owner'], { encoding: 'utf8' });
			expect(run.stderr).toBe('');
			expect(run.status).toBe(0);
			const listing = spawnSync('tar', ['-tvf', archive], { encoding: 'utf8' });
			expect(listing.status).toBe(0);
			for (const e of entries) {
				const path = join(target, e.name);
				const info = await lstat(path);
				expect({ name: e.name, type: info.isDirectory() ? 'directory' : info.isSymbolicLink() ? 'symlink' : 'file' }).toEqual({ name: e.name, type: e.type });
				if (e.type === 'symlink') {
					expect(await readlink(path)).toBe(e.linkname);
					continue;
				}
				expect(info.mtimeMs).toBe(Math.floor(e.mtimeMs / 1000) * 1000);
				expect((info.mode & 0o7777).toString(8)).toBe((e.mode || 0o644).toString(8));
				if (e.type === 'file') expect((await readFile(path)).equals(e.content!)).toBe(true);
			}
			expect(listing.stdout).toContain('protheus_data/atalho -> relatórios/ação de cobrança.txt');
			expect(listing.stdout).toContain(`protheus_data/${'z'.repeat(150)}.dbf`);
		} finally {
			await rm(work, { recursive: true, force: true });
		}
	});
});
