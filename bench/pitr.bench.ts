/**
 * Point-in-time benchmark, one PostgreSQL 15 server, all variants in the same run, alternating:
 * - base backup: our makePitrBase (pg_basebackup -Ft gzip + manifest, hashes, inventory, set)
 *   against bare `pg_basebackup -Ft -z -X stream` and a pgBackRest full backup (gzip, its
 *   default), ratios of the medians;
 * - the cost of one incremental run (makePitrIncremental after a batch of rows);
 * - restore to a time: our restoreToPointInTime (data folder recovered, shut down cleanly)
 *   against `pgbackrest restore --type=time` plus starting the restored cluster until it is
 *   promoted (pgBackRest's restore only writes the folder; recovery happens at start).
 *
 *   npx tsx bench/pitr.bench.ts                      # scale 20000 (≈120 MB), 2 rounds
 *   BENCH_SCALE=180000 BENCH_ROUNDS=3 npx tsx bench/pitr.bench.ts   # ≈1 GiB
 *
 * Needs pgbackrest (Debian: apt-get install -y pgbackrest); speed is reported, never asserted.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { formatBytes } from '../core/format';
import type { Logger } from '../core/logger';
import {
	defaultPitrOptions,
	makePitrBase,
	makePitrIncremental,
	newestChain,
	restoreToPointInTime,
} from '../core/sources/postgres-pitr';
import { createProtheusDatabase } from '../support/fixtures/protheus-db';
import { startPitrServer } from '../support/pitr-server';
import { createRole } from '../support/postgres';

const SCALE = Number(process.env.BENCH_SCALE ?? 20000);
const ROUNDS = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 2));
const ROOT = path.resolve(__dirname, '..');
const stamp = new Date().toISOString().replace(/[-:]/g, '').slice(0, 13);
const OUT = process.env.BENCH_OUT ?? path.join(ROOT, 'bench', 'results', `pitr-${stamp}Z.txt`);
const lines: string[] = [];
const say = (line: string) => {
	lines.push(line);
	console.log(line);
};
const quiet: Logger = { debug() {}, info() {}, warn: (m) => console.error(`warn: ${m}`) };
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];
const seconds = async (work: () => Promise<unknown> | unknown) => {
	const t = process.hrtime.bigint();
	await work();
	return Number(process.hrtime.bigint() - t) / 1e9;
};
function folderBytes(folder: string): number {
	const out = spawnSync('du', ['-sb', folder], { encoding: 'utf8' });
	return Number(out.stdout.split('\t')[0]);
}

async function main() {
	const work = mkdtempSync(path.join(os.tmpdir(), 'totvs-pitr-bench-'));
	chmodSync(work, 0o755);
	const asPostgres = process.getuid?.() === 0;
	const repo = path.join(work, 'pgbackrest-repo');
	mkdirSync(repo);
	const conf = path.join(work, 'pgbackrest.conf');
	const pgbr = (args: string[]) =>
		asPostgres
			? execFileSync('runuser', ['-u', 'postgres', '--', 'pgbackrest', `--config=${conf}`, ...args], { stdio: 'pipe' })
			: execFileSync('pgbackrest', [`--config=${conf}`, ...args], { stdio: 'pipe' });
	const server = await startPitrServer({
		settings: {
			archive_mode: 'on',
			archive_command: `pgbackrest --config=${conf} --stanza=bench archive-push %p`,
		},
	});
	try {
		if (asPostgres) {
			const { uid, gid } = statSync(server.dataDir);
			chownSync(repo, uid, gid);
		}
		writeFileSync(
			conf,
			[
				'[global]',
				`repo1-path=${repo}`,
				'repo1-retention-full=99',
				'start-fast=y',
				'compress-type=gz',
				'log-level-file=off',
				'log-level-console=warn',
				'[bench]',
				`pg1-path=${server.dataDir}`,
				`pg1-port=${server.port}`,
				`pg1-socket-path=${server.socketDir}`,
				`pg1-user=${server.user}`,
				'',
			].join('\n'),
		);
		chmodSync(conf, 0o644);
		process.env.PGPASSWORD = server.password; // pgBackRest's libpq login (this bench only)
		await createRole(server, 'backup', 'secret', { replication: true, memberOf: ['pg_read_all_data'] });
		await createProtheusDatabase(server, { name: 'protheus', scale: SCALE });
		const size = Number((await server.admin<{ n: string }>("SELECT pg_database_size('protheus') AS n"))[0].n);
		pgbr(['--stanza=bench', 'stanza-create']);
		pgbr(['--stanza=bench', 'check']);
		const connection = {
			host: server.host,
			port: server.port,
			database: 'protheus',
			user: 'backup',
			password: 'secret',
			sslMode: 'disable' as const,
			binFolder: server.binDir,
		};
		const staging = path.join(work, 'staging');
		mkdirSync(staging);
		const options = { ...defaultPitrOptions, binFolder: server.binDir };
		say(
			`PITR bench ${new Date().toISOString()}: PostgreSQL ${server.version}, database protheus ${formatBytes(size)} (scale ${SCALE}), ${ROUNDS} rounds, ${os.cpus().length} CPUs, load ${os.loadavg()[0].toFixed(2)}`,
		);

		// 1. Base backups, alternating.
		const times: Record<'bare' | 'ours' | 'pgbackrest', number[]> = { bare: [], ours: [], pgbackrest: [] };
		const sizes: Record<string, number> = {};
		for (let round = 1; round <= ROUNDS; round++) {
			const order = round % 2 ? (['bare', 'ours', 'pgbackrest'] as const) : (['pgbackrest', 'ours', 'bare'] as const);
			for (const variant of order) {
				if (variant === 'bare') {
					const dir = path.join(work, `bare-${round}`);
					const t = await seconds(() =>
						execFileSync(
							path.join(server.binDir, 'pg_basebackup'),
							[
								'-h',
								server.host,
								'-p',
								String(server.port),
								'-U',
								'backup',
								'-D',
								dir,
								'-Ft',
								'-z',
								'-X',
								'stream',
								'--checkpoint=fast',
								'--no-password',
							],
							{ env: { ...process.env, PGPASSWORD: 'secret' }, stdio: 'pipe' },
						),
					);
					times.bare.push(t);
					sizes.bare = folderBytes(dir);
					rmSync(dir, { recursive: true, force: true });
				} else if (variant === 'ours') {
					const t = await seconds(() =>
						makePitrBase({ connection, environment: 'bench', stagingFolder: staging, options, log: quiet }),
					);
					times.ours.push(t);
				} else {
					times.pgbackrest.push(await seconds(() => pgbr(['--stanza=bench', '--type=full', 'backup'])));
					sizes.pgbackrest = folderBytes(path.join(repo, 'backup'));
				}
			}
			say(
				`round ${round}: bare ${times.bare[round - 1].toFixed(2)} s, ours ${times.ours[round - 1].toFixed(2)} s, pgBackRest ${times.pgbackrest[round - 1].toFixed(2)} s`,
			);
		}
		const m = { bare: median(times.bare), ours: median(times.ours), pgbackrest: median(times.pgbackrest) };
		say(
			`base backup medians: bare pg_basebackup ${m.bare.toFixed(2)} s (${formatBytes(sizes.bare)}), ours ${m.ours.toFixed(2)} s, pgBackRest full ${m.pgbackrest.toFixed(2)} s`,
		);
		say(
			`base backup speed ratio ours/bare = ${(m.bare / m.ours).toFixed(3)}x (goal >= 0.95x), ours/pgBackRest = ${(m.pgbackrest / m.ours).toFixed(3)}x (above 1 = ours faster)`,
		);

		// 2. One incremental run after a batch of rows.
		const incr: number[] = [];
		for (let round = 1; round <= ROUNDS; round++) {
			await server.admin(
				"CREATE TABLE IF NOT EXISTS bench_batch (id serial, note text); INSERT INTO bench_batch (note) SELECT repeat('x', 200) FROM generate_series(1, 50000)",
				'protheus',
			);
			const chain = (await newestChain(staging, 'bench'))!;
			incr.push(
				await seconds(() =>
					makePitrIncremental({ connection, environment: 'bench', stagingFolder: staging, options, log: quiet, chain }),
				),
			);
		}
		say(
			`one incremental run (after 50 000 rows ≈ 12 MB): median ${median(incr).toFixed(2)} s (${incr.map((t) => t.toFixed(2)).join(', ')})`,
		);

		// 3. Restore to a time between two batches, both tools.
		await server.admin("INSERT INTO bench_batch (note) SELECT 'before' FROM generate_series(1, 1000)", 'protheus');
		await new Promise((r) => setTimeout(r, 1500));
		const target = (await server.admin<{ t: Date }>('SELECT clock_timestamp() AS t'))[0].t;
		await new Promise((r) => setTimeout(r, 1500));
		await server.admin("INSERT INTO bench_batch (note) SELECT 'after' FROM generate_series(1, 1000)", 'protheus');
		const chain = (await newestChain(staging, 'bench'))!;
		await makePitrIncremental({ connection, environment: 'bench', stagingFolder: staging, options, log: quiet, chain });
		pgbr(['--stanza=bench', 'check']); // switches WAL and waits until it is archived
		const restoreOurs: number[] = [];
		const restoreTheirs: number[] = [];
		const full = (await newestChain(staging, 'bench'))!;
		const pgCtl = path.join(server.binDir, 'pg_ctl');
		const asServer = (file: string, args: string[]) =>
			asPostgres
				? execFileSync('runuser', ['-u', 'postgres', '--', file, ...args], { stdio: 'pipe' })
				: execFileSync(file, args, { stdio: 'pipe' });
		for (let round = 1; round <= ROUNDS; round++) {
			const ours = path.join(work, `restored-ours-${round}`);
			restoreOurs.push(
				await seconds(() =>
					restoreToPointInTime({
						chain: full,
						target: { time: target },
						dataFolder: ours,
						serverBinFolder: server.binDir,
						log: quiet,
					}),
				),
			);
			rmSync(ours, { recursive: true, force: true });
			const theirs = path.join(work, `restored-pgbackrest-${round}`);
			mkdirSync(theirs, { mode: 0o700 });
			if (asPostgres) {
				const { uid, gid } = statSync(server.dataDir);
				chownSync(theirs, uid, gid);
			}
			const socket = mkdtempSync(path.join(work, 'sock-'));
			chmodSync(socket, 0o777);
			restoreTheirs.push(
				await seconds(() => {
					pgbr([
						'--stanza=bench',
						`--pg1-path=${theirs}`,
						'restore',
						'--type=time',
						`--target=${target.toISOString().replace('T', ' ').replace('Z', '+00')}`,
						'--target-action=promote',
					]);
					asServer(pgCtl, [
						'start',
						'-w',
						'-t',
						'600',
						'-D',
						theirs,
						'-l',
						path.join(socket, 'log'),
						'-o',
						`-c port=5498 -c listen_addresses='' -c unix_socket_directories=${socket} -c archive_mode=off`,
					]);
					asServer(pgCtl, ['stop', '-w', '-D', theirs, '-m', 'fast']);
				}),
			);
			rmSync(theirs, { recursive: true, force: true });
		}
		const ro = median(restoreOurs);
		const rt = median(restoreTheirs);
		say(
			`restore to ${target.toISOString()}: ours ${ro.toFixed(2)} s (${restoreOurs.map((t) => t.toFixed(2)).join(', ')}), pgBackRest restore + recovery ${rt.toFixed(2)} s (${restoreTheirs.map((t) => t.toFixed(2)).join(', ')}); ratio ours/pgBackRest = ${(rt / ro).toFixed(3)}x (above 1 = ours faster)`,
		);
	} finally {
		await server.stop();
		rmSync(work, { recursive: true, force: true });
		mkdirSync(path.dirname(OUT), { recursive: true });
		writeFileSync(OUT, `${lines.join('\n')}\n`);
		console.log(`written ${path.relative(ROOT, OUT)}`);
	}
}

main().catch((error) => {
	console.error(error);
	process.exit(1);
});
