import { spawnSync } from 'node:child_process';
import { lstat, mkdir, mkdtemp, readFile, readlink, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import * as tar from 'tar-stream';
import {
	ownerOfHeader,
	type OwnerHeader,
	type RecordedOwner,
} from '../../../../core/sources/protheus-files/restore/owners';
import {
	encodeTarHeader,
	tarPadding,
	TAR_END,
	type TarHeaderFields,
} from '../../../../core/sources/protheus-files/tar-header';

type Entry = TarHeaderFields & { content?: Buffer };

const when = Date.UTC(2025, 2, 14, 9, 26, 53, 589);
const longFolder = `protheus_data/${'x'.repeat(90)}/${'y'.repeat(60)}`;
const entries: Entry[] = [
	{ name: 'apo', type: 'directory', size: 0, mode: 0o755, mtimeMs: when, uid: 0, gid: 0, uname: 'root', gname: 'root' },
	{
		name: 'apo/tttp120.rpo',
		type: 'file',
		size: 5,
		mode: 0o644,
		mtimeMs: when + 0.7,
		uid: 1000,
		gid: 1000,
		uname: 'totvs',
		gname: 'totvs',
		content: Buffer.from('RPO\u0000!'),
	},
	{
		name: 'apo/vazio.ini',
		type: 'file',
		size: 0,
		mode: 0o600,
		mtimeMs: when,
		uid: 1000,
		gid: 1000,
		content: Buffer.alloc(0),
	},
	// Longer than 100 bytes but splittable into ustar's prefix and name.
	{ name: longFolder, type: 'directory', size: 0, mode: 0o700, mtimeMs: when, uid: 1, gid: 2 },
	{
		name: `${longFolder}/sx2010.dtc`,
		type: 'file',
		size: 513,
		mode: 0o640,
		mtimeMs: when,
		uid: 1,
		gid: 2,
		content: Buffer.alloc(513, 0x5a),
	},
	// One path segment longer than 100 bytes: only pax can hold it.
	{
		name: `protheus_data/${'z'.repeat(150)}.dbf`,
		type: 'file',
		size: 512,
		mode: 0o644,
		mtimeMs: when,
		content: Buffer.alloc(512, 1),
	},
	// Accented (not ASCII) names, spaces: pax.
	{ name: 'protheus_data/relatórios', type: 'directory', size: 0, mode: 0o750, mtimeMs: when },
	{
		name: 'protheus_data/relatórios/ação de cobrança.txt',
		type: 'file',
		size: 7,
		mode: 0o664,
		mtimeMs: when,
		content: Buffer.from('cobrado'),
	},
	{
		name: 'protheus_data/atalho',
		type: 'symlink',
		size: 0,
		mode: 0o777,
		mtimeMs: when,
		linkname: 'relatórios/ação de cobrança.txt',
	},
	{
		name: 'protheus_data/atalho-longo',
		type: 'symlink',
		size: 0,
		mode: 0o777,
		mtimeMs: when,
		linkname: `${'../'.repeat(2)}${'l'.repeat(120)}`,
	},
	{
		name: 'protheus_data/setuid.sh',
		type: 'file',
		size: 3,
		mode: 0o4755,
		mtimeMs: when,
		uid: 262_142,
		gid: 3,
		uname: 'u'.repeat(31),
		gname: 'sys',
		content: Buffer.from('#!\n'),
	},
	// Mode 0 is written as tar-stream wrote it (0644).
	{ name: 'protheus_data/sem-permissao', type: 'file', size: 1, mode: 0, mtimeMs: 0, content: Buffer.from('x') },
];

const BIG_UID = 1_863_201_104; // the kind of id SSSD gives an Active Directory user
const BIG_GID = 1_863_200_513;
const LONG_USER = 'protheus.appserver.producao.filial01'; // 36 bytes: more than ustar's 31
/** Owners ustar cannot hold: they go in pax records, as GNU tar writes them in posix format. */
const ownerEntries: Entry[] = [
	{
		name: 'protheus_data/ad.dtc',
		type: 'file',
		size: 2,
		mode: 0o640,
		mtimeMs: when,
		uid: BIG_UID,
		gid: BIG_GID,
		uname: 'ana.souza',
		gname: 'domain users',
		content: Buffer.from('ad'),
	},
	{
		name: 'protheus_data/seis-setes.dtc',
		type: 'file',
		size: 1,
		mode: 0o640,
		mtimeMs: when,
		uid: 0o777777,
		gid: 0o777776,
		content: Buffer.from('7'),
	},
	{
		name: 'protheus_data/longo',
		type: 'directory',
		size: 0,
		mode: 0o750,
		mtimeMs: when,
		uid: 1000,
		gid: 1000,
		uname: LONG_USER,
		gname: 'totvs',
	},
	{
		name: 'protheus_data/joão.txt',
		type: 'file',
		size: 1,
		mode: 0o644,
		mtimeMs: when,
		uid: 1001,
		gid: BIG_GID,
		uname: 'joão',
		gname: 'finanças',
		content: Buffer.from('j'),
	},
	{
		name: 'protheus_data/atalho-ad',
		type: 'symlink',
		size: 0,
		mode: 0o777,
		mtimeMs: when,
		uid: BIG_UID,
		gid: 1000,
		uname: 'ana.souza',
		gname: 'totvs',
		linkname: 'ad.dtc',
	},
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
		const header: Partial<tar.Header> & { name: string } = {
			name: e.name,
			type: e.type,
			size: e.size,
			mode: e.mode,
			mtime: new Date(Math.floor(e.mtimeMs)),
			uid: e.uid,
			gid: e.gid,
			uname: e.uname,
			gname: e.gname,
			linkname: e.linkname ?? undefined,
		};
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
		const block = encodeTarHeader({
			name: 'apo/huge.dtc',
			type: 'file',
			size: 9 * 2 ** 30,
			mode: 0o644,
			mtimeMs: when,
		});
		expect(block[124]).toBe(0x80);
		expect(block.readUIntBE(124 + 6, 6)).toBe(9 * 2 ** 30);
		const headers = tar.extract();
		const seen = new Promise<number>((resolve) => headers.on('entry', (header) => resolve(header.size ?? -1)));
		headers.write(block);
		return expect(seen).resolves.toBe(9 * 2 ** 30);
	});

	it('write owners ustar cannot hold as pax uid, gid, uname and gname records, read back as the restore reads them', async () => {
		const extract = tar.extract();
		const seen: Array<{ name: string; linkname: string | null } & RecordedOwner> = [];
		extract.on('entry', (header, stream, next) => {
			seen.push({ name: header.name, linkname: header.linkname ?? null, ...ownerOfHeader(header as OwnerHeader) });
			stream.on('end', next).resume();
		});
		const done = new Promise<void>((resolve, reject) => extract.on('finish', () => resolve()).on('error', reject));
		extract.end(ourArchive(ownerEntries));
		await done;
		expect(seen).toEqual(
			ownerEntries.map((e) => ({
				name: e.name,
				uid: e.uid,
				gid: e.gid,
				uname: e.uname ?? null,
				gname: e.gname ?? null,
				linkname: e.linkname ?? null,
			})),
		);
		// Ids that fit stay in the ustar fields, names that fit in ustar's 32 bytes; only the rest is in pax.
		const ad = encodeTarHeader(ownerEntries[0]);
		expect(ad.subarray(512, 1024).toString('latin1')).toMatch(/^\d+ uid=1863201104\n\d+ gid=1863200513\n\0/);
		expect(ad.subarray(1024 + 265, 1024 + 265 + 9).toString('latin1')).toBe('ana.souza');
		expect(
			ad
				.subarray(1024, 1024 + 100)
				.toString('latin1')
				.replace(/\0+$/, ''),
		).toBe('protheus_data/ad.dtc'); // the entry keeps its name for pax-unaware readers
		// 0o777777 itself is what an overflowed field holds: it goes to pax too.
		expect(encodeTarHeader(ownerEntries[1]).subarray(512, 1024).toString('latin1')).toMatch(/^\d+ uid=262143\n\0/);
		const joao = encodeTarHeader(ownerEntries[3]).subarray(512, 1024).toString('utf8');
		expect(joao).toContain('path=protheus_data/joão.txt\n');
		expect(joao).toContain(' gid=1863200513\n');
		expect(joao).toContain(' uname=joão\n');
		expect(joao).toContain(' gname=finanças\n');
		// Everything ustar holds: one block, as before.
		expect(encodeTarHeader(entries[1]).length).toBe(512);
		expect(encodeTarHeader(entries[10]).length).toBe(512); // 262142 and a 31-byte name still fit
	});

	const hasTar = spawnSync('tar', ['--version']).status === 0;
	(hasTar ? it : it.skip)(
		hasTar
			? 'list owners as GNU tar reads them: names with tar -tvf, ids with --numeric-owner'
			: 'skipped: GNU tar is not installed',
		async () => {
			const work = await mkdtemp(join(tmpdir(), 'totvs-tar-owners-'));
			try {
				const archive = join(work, 'a.tar');
				await writeFile(archive, ourArchive([...entries, ...ownerEntries]));
				const list = (args: string[]) => {
					const run = spawnSync('tar', [...args, archive], {
						encoding: 'utf8',
						env: { ...process.env, LC_ALL: 'C.UTF-8', TZ: 'UTC' },
					});
					expect(run.stderr).toBe('');
					expect(run.status).toBe(0);
					// "drwxr-xr-x root/root 0 2025-03-14 09:26 apo" -> path -> owner column
					return new Map(
						run.stdout
							.trim()
							.split('\n')
							.map((line) => {
								const [, owner, path] =
									/^\S+ (\S+(?: \S+)*?) +\d+ \d{4}-\d\d-\d\d \d\d:\d\d (.+?)(?: -> .*)?$/.exec(line) ?? [];
								return [path, owner];
							}),
					);
				};
				const byName = list(['-tvf']);
				const byId = list(['--numeric-owner', '-tvf']);
				expect(byName.get('apo/tttp120.rpo')).toBe('totvs/totvs');
				expect(byId.get('apo/tttp120.rpo')).toBe('1000/1000');
				expect(byName.get('protheus_data/ad.dtc')).toBe('ana.souza/domain users');
				expect(byId.get('protheus_data/ad.dtc')).toBe(`${BIG_UID}/${BIG_GID}`);
				expect(byId.get('protheus_data/seis-setes.dtc')).toBe(`${0o777777}/${0o777776}`);
				expect(byName.get('protheus_data/longo')).toBe(`${LONG_USER}/totvs`);
				expect(byId.get('protheus_data/atalho-ad')).toBe(`${BIG_UID}/1000`);
				expect(byName.get('protheus_data/setuid.sh')).toBe(`${'u'.repeat(31)}/sys`);
				expect(byId.get('protheus_data/setuid.sh')).toBe('262142/3');
			} finally {
				await rm(work, { recursive: true, force: true });
			}
		},
	);

	(hasTar ? it : it.skip)(
		hasTar
			? 'are extracted by GNU tar with names, links, content, modes and times intact'
			: 'skipped: GNU tar is not installed',
		async () => {
			const work = await mkdtemp(join(tmpdir(), 'totvs-tar-header-'));
			try {
				const archive = join(work, 'a.tar');
				await writeFile(archive, ourArchive([...entries, ...ownerEntries]));
				const target = join(work, 'out');
				await mkdir(target);
				const run = spawnSync('tar', ['-xpf', archive, '-C', target, '--no-same-owner'], { encoding: 'utf8' });
				expect(run.stderr).toBe('');
				expect(run.status).toBe(0);
				const listing = spawnSync('tar', ['-tvf', archive], { encoding: 'utf8' });
				expect(listing.status).toBe(0);
				for (const e of [...entries, ...ownerEntries]) {
					const path = join(target, e.name);
					const info = await lstat(path);
					expect({
						name: e.name,
						type: info.isDirectory() ? 'directory' : info.isSymbolicLink() ? 'symlink' : 'file',
					}).toEqual({ name: e.name, type: e.type });
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
		},
	);
});
