/**
 * Protheus files restore benchmark (issue 13), two parts:
 *
 * 1. Our files restore (restoreFilesChain: full → incrementals, every file hashed against the
 *    index as it is written, deletions, modes, mtimes) against `tar -I zstd -xf` of the same
 *    chain's archives in order (tar neither hashes nor applies deletions), same run,
 *    alternating (tar, ours, tar, ours …), into fresh folders. Ours runs in a child process so
 *    its peak RSS (VmHWM) is its own; it is printed beside the time. Ratio = tar time / our time
 *    (goal ≥ 0.9). Bare tar checks nothing, so a second, fair baseline is printed too: the same
 *    tar followed by `sha256sum -c` of every file against the set's index (what an operator runs
 *    to get the guarantee ours gives), timed as tar + sha256sum on the same extracted tree.
 * 2. The restore-point Restore Test's wall time against the sum of its parts run alone (the
 *    database set's Restore Test, then the files set's), on a PostgreSQL server of its own.
 *
 * Speed is reported, never asserted; sanity is asserted (every restore passes its checks).
 *
 *   npx tsx bench/files-restore.bench.ts                               # 3000 files, ~600 MiB, 2 rounds
 *   npx tsx bench/files-restore.bench.ts --files 20000 --size 2GB --rounds 3
 *
 * Options (or environment variables):
 *   --files N     BENCH_FILES    small files in the tree (default 3000)
 *   --size SIZE   BENCH_SIZE     about this many bytes of tables in system/ (default 512MB)
 *   --rounds N    BENCH_ROUNDS   rounds of each variant (default 2)
 *   --scale N     BENCH_SCALE    database fixture scale for part 2 (default 20000; 0 skips part 2)
 *   --out FILE    BENCH_OUT      results file (default bench/results/files-restore-<UTC time>.txt)
 */
import { spawn, spawnSync } from 'node:child_process';
import { appendFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { appendFile, readdir, unlink, utimes } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { BackupResult } from '../core/backup';
import { manifestOf } from '../core/backup-set/manifest';
import { formatBytes } from '../core/format';
import { silentLogger } from '../core/logger';
import { makeRestorePoint } from '../core/restore-point';
import { restoreTestRestorePoint, restoreTestSet } from '../core/restore-test';
import { defaultDumpOptions, PostgresSource } from '../core/sources/postgres/postgres-source';
import { defaultRestoreOptions } from '../core/sources/postgres/restore/pg-restore';
import { defaultFilesOptions, ProtheusFilesSource } from '../core/sources/protheus-files/files-source';
import { restoreFilesChain } from '../core/sources/protheus-files/restore/chain-restore';
import { createProtheusDatabase } from '../support/fixtures/protheus-db';
import { createProtheusTree, filesBackup } from '../support/fixtures/protheus-tree';
import { startPostgres } from '../support/postgres';
import { statusKiB } from './proc';

const ROOT = path.resolve(__dirname, '..');
const MiB = 2 ** 20;
const arg = (name: string, env: string, fallback: string) => {
	const i = process.argv.indexOf(`--${name}`);
	return i > 0 ? process.argv[i + 1] : (process.env[env] ?? fallback);
};
function parseSize(text: string): number {
	const m = /^([\d.]+)\s*(B|KB|MB|GB)?$/i.exec(text.trim());
	if (!m) throw new Error(`Cannot read size "${text}" (e.g. 2GB, 500MB)`);
	return Math.round(Number(m[1]) * { B: 1, KB: 1024, MB: MiB, GB: 1024 * MiB }[(m[2] ?? 'B').toUpperCase() as 'B']);
}

// The child: one restore of ours, timed, with its own peak RSS.
if (process.argv[2] === '--child') {
	const { setFolder, target } = JSON.parse(process.argv[3]) as { setFolder: string; target: string };
	const started = process.hrtime.bigint();
	restoreFilesChain({ setFolder, target, log: silentLogger }).then(
		(result) => {
			const ms = Number(process.hrtime.bigint() - started) / 1e6;
			process.stdout.write(JSON.stringify({ ms, bytes: result.bytes, hwmKiB: statusKiB('self', 'VmHWM') }));
		},
		(error: unknown) => {
			process.stderr.write(String(error));
			process.exit(1);
		},
	);
} else {
	main().catch((error: unknown) => {
		console.error(error);
		process.exit(1);
	});
}

async function main() {
	const files = Number(arg('files', 'BENCH_FILES', '3000'));
	const size = parseSize(arg('size', 'BENCH_SIZE', '512MB'));
	const rounds = Math.max(1, Number(arg('rounds', 'BENCH_ROUNDS', '2')));
	const scale = Number(arg('scale', 'BENCH_SCALE', '20000'));
	const stamp = new Date().toISOString().replace(/[-:]/g, '').slice(0, 13) + 'Z';
	const out = arg('out', 'BENCH_OUT', path.join(ROOT, 'bench', 'results', `files-restore-${stamp}.txt`));
	mkdirSync(path.dirname(out), { recursive: true });
	const say = (line: string) => {
		console.log(line);
		appendFileSync(out, `${line}\n`);
	};
	const work = mkdtempSync(path.join(os.tmpdir(), 'totvs-bench-files-restore-'));
	try {
		say(`# files restore benchmark ${new Date().toISOString()}`);
		say(
			`# host: ${os.cpus().length} CPUs (${os.cpus()[0]?.model ?? '?'}), ${formatBytes(os.totalmem())} RAM, Node ${process.version}`,
		);
		const tables = 16;
		const tree = await createProtheusTree(path.join(work, 'tree'), {
			smallFiles: files,
			tables,
			tableBytes: Math.round(size / tables / 2),
			rpoBytes: 32 * MiB,
		});
		const staging = path.join(work, 'staging');
		mkdirSync(staging);
		const options = { appserverIni: tree.appserverIni };
		const chain: BackupResult[] = [await filesBackup(staging, 'full', options)];
		// Two incrementals, each after 1 % of the small files changed and a few deleted.
		for (let step = 1; step <= 2; step++) {
			const changed = tree.files.filter((_, i) => i % 100 === step);
			for (const rel of changed.slice(0, -2)) {
				const file = path.join(tree.root, rel);
				await appendFile(file, `change ${step}\n`);
				const when = new Date(Date.now() + step * 2000);
				await utimes(file, when, when);
			}
			for (const rel of changed.slice(-2)) await unlink(path.join(tree.root, rel)).catch(() => undefined);
			chain.push(await filesBackup(staging, 'incremental', options));
		}
		const last = chain[chain.length - 1];
		const archiveBytes = chain.reduce((sum, s) => sum + s.manifest.artifacts.reduce((a, b) => a + b.bytes, 0), 0);
		say(
			`# chain: ${chain.map((s) => s.manifest.backupId).join(' → ')}; tree ${formatBytes(tree.bytes)} in ${tree.files.length} files; archives ${formatBytes(archiveBytes)} (zstd)`,
		);
		const archives = chain.map((s) => path.join(s.folder, s.manifest.artifacts.find((a) => a.kind === 'tar')!.path));

		// The fair baseline's checksum list: every file of the last index with its SHA-256 (sha256sum -c format).
		const lastEntries = manifestOf(last.manifest, 'protheus-files').inventory.entries.filter((e) => e.type === 'file');
		if (lastEntries.some((e) => /[\n\\]/.test(e.path) || !e.sha256))
			throw new Error(
				'an index path holds a newline or backslash, or a file has no SHA-256: sha256sum -c cannot check it',
			);
		const sums = path.join(work, 'SHA256SUMS');
		writeFileSync(sums, lastEntries.map((e) => `${e.sha256}  ${e.path}\n`).join(''));

		const tarTimes: number[] = [];
		const tarShaTimes: number[] = [];
		const ourTimes: number[] = [];
		const hwms: number[] = [];
		for (let round = 1; round <= rounds; round++) {
			const tarTarget = path.join(work, `tar-${round}`);
			mkdirSync(tarTarget);
			const started = process.hrtime.bigint();
			for (const archive of archives) {
				const tar = spawnSync('tar', ['-I', 'zstd', '-xf', archive, '-C', tarTarget], { stdio: 'inherit' });
				if (tar.status !== 0) throw new Error(`tar failed on ${archive}`);
			}
			tarTimes.push(Number(process.hrtime.bigint() - started) / 1e6);
			// Bare tar neither hashes nor applies deletions: `sha256sum -c` of the index's files is the same guarantee.
			const checking = process.hrtime.bigint();
			const sha = spawnSync('sha256sum', ['-c', '--quiet', '--strict', sums], { cwd: tarTarget, stdio: 'inherit' });
			if (sha.status !== 0) throw new Error(`sha256sum -c failed on the tar-extracted tree (exit ${sha.status})`);
			tarShaTimes.push(tarTimes.at(-1)! + Number(process.hrtime.bigint() - checking) / 1e6);
			rmSync(tarTarget, { recursive: true, force: true });

			const ourTarget = path.join(work, `ours-${round}`);
			const child = await runChild({ setFolder: last.folder, target: ourTarget });
			ourTimes.push(child.ms);
			hwms.push(child.hwmKiB ?? 0);
			// Sanity: the restored tree holds every file of the last index.
			const restored = await countFiles(ourTarget);
			const expected = manifestOf(last.manifest, 'protheus-files').inventory.totals.files;
			if (restored !== expected) throw new Error(`our restore holds ${restored} files, the index ${expected}`);
			rmSync(ourTarget, { recursive: true, force: true });
			say(
				`round ${round}: tar -I zstd -xf ×${archives.length} ${(tarTimes.at(-1)! / 1000).toFixed(2)} s, + sha256sum -c ${(tarShaTimes.at(-1)! / 1000).toFixed(2)} s; ours ${(child.ms / 1000).toFixed(2)} s (peak RSS ${(child.hwmKiB ?? 0) >> 10} MiB)`,
			);
		}
		const best = (xs: number[]) => Math.min(...xs);
		say(
			`files restore: best tar ${(best(tarTimes) / 1000).toFixed(2)} s, best tar + sha256sum -c ${(best(tarShaTimes) / 1000).toFixed(2)} s, best ours ${(best(ourTimes) / 1000).toFixed(2)} s; ratio tar/ours ${(best(tarTimes) / best(ourTimes)).toFixed(2)} (goal ≥ 0.9), ratio (tar + sha256sum -c)/ours ${(best(tarShaTimes) / best(ourTimes)).toFixed(2)}; our peak RSS ${Math.max(...hwms) >> 10} MiB`,
		);

		if (scale > 0) await restorePointPart(work, scale, tree.appserverIni, say);
	} finally {
		rmSync(work, { recursive: true, force: true });
	}
}

async function restorePointPart(work: string, scale: number, appserverIni: string, say: (line: string) => void) {
	const server = await startPostgres();
	try {
		await createProtheusDatabase(server, { name: 'protheus', scale });
		const staging = path.join(work, 'rp-staging');
		mkdirSync(staging);
		const connection = (database: string) => ({
			host: server.host,
			port: server.port,
			database,
			user: server.user,
			password: server.password,
			sslMode: 'disable' as const,
			binFolder: server.binDir,
		});
		const point = await makeRestorePoint({
			database: { source: new PostgresSource(), connection: connection('protheus'), options: defaultDumpOptions },
			files: { source: new ProtheusFilesSource(), options: { ...defaultFilesOptions, appserverIni }, type: 'full' },
			environment: 'bench',
			stagingFolder: staging,
			log: silentLogger,
		});
		if (!('manifest' in point.files)) throw point.files;
		const databaseServer = {
			engine: 'postgres' as const,
			connection: connection('postgres'),
			restore: defaultRestoreOptions,
			freshnessDays: 0,
		};
		const common = { keepOnFailure: false, log: silentLogger };
		const timed = async <T>(run: () => Promise<T>) => {
			const started = process.hrtime.bigint();
			const value = await run();
			return { value, ms: Number(process.hrtime.bigint() - started) / 1e6 };
		};
		const db = await timed(() => restoreTestSet({ folder: point.database.folder, server: databaseServer, ...common }));
		const fs = await timed(() =>
			restoreTestSet({ folder: (point.files as BackupResult).folder, server: { engine: 'protheus-files' }, ...common }),
		);
		const both = await timed(() =>
			restoreTestRestorePoint({ backupsFolder: staging, environment: 'bench', databaseServer, ...common }),
		);
		for (const [name, r] of [
			['database', db.value],
			['files', fs.value],
			['restore point', both.value],
		] as const)
			if (!r.passed)
				throw new Error(
					`${name} restore test failed: ${r.checks
						.filter((c) => !c.ok)
						.map((c) => c.name)
						.join(', ')}`,
				);
		const sum = db.ms + fs.ms;
		say(
			`restore point test (database scale ${scale}, ${formatBytes(point.database.manifest.artifacts.reduce((a, b) => a + b.bytes, 0))} dump): database alone ${(db.ms / 1000).toFixed(2)} s + files alone ${(fs.ms / 1000).toFixed(2)} s = ${(sum / 1000).toFixed(2)} s; restore point ${(both.ms / 1000).toFixed(2)} s (${(both.ms / sum).toFixed(2)}× the sum)`,
		);
	} finally {
		await server.stop();
	}
}

function runChild(request: { setFolder: string; target: string }): Promise<{ ms: number; hwmKiB?: number }> {
	return new Promise((resolve, reject) => {
		const child = spawn(process.execPath, ['--import', 'tsx', __filename, '--child', JSON.stringify(request)], {
			stdio: ['ignore', 'pipe', 'inherit'],
		});
		let text = '';
		child.stdout.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
		child.on('error', reject);
		child.on('close', (code) =>
			code === 0 ? resolve(JSON.parse(text)) : reject(new Error(`our restore exited ${code}`)),
		);
	});
}

async function countFiles(folder: string): Promise<number> {
	let count = 0;
	for (const entry of await readdir(folder, { withFileTypes: true, recursive: true })) if (entry.isFile()) count++;
	return count;
}
