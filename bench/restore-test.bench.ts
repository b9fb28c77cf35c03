/**
 * Restore-test benchmark: our whole Restore Test (verify the artifacts, create the scratch
 * database, pg_restore -j N, every check, drop) against what a DBA would type by hand on the
 * same dump in the same run: `createdb` + `pg_restore -j N`. Speed is reported, never
 * asserted; sanity is asserted (our test passes every check, the baseline restores the same
 * row total). Target: ours <= 1.2x the baseline.
 *
 *   npx tsx bench/restore-test.bench.ts                        # ~1 GB (scale 200000), 2 rounds
 *   npx tsx bench/restore-test.bench.ts --scale 20000 --rounds 3
 *
 * Options (or environment variables):
 *   --scale N     BENCH_SCALE    fixture scale (support/fixtures/protheus-db.ts; 200000 ≈ 1 GB)
 *   --rounds N    BENCH_ROUNDS   measured runs of each variant (default 2), in abba order
 *   --jobs N      BENCH_JOBS     pg_restore -j for both (default: number of CPUs)
 *   --out FILE    BENCH_OUT      results file (default bench/results/restore-test-<date>.txt)
 */
import { spawnSync } from 'node:child_process';
import { appendFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { makeBackup } from '../core/backup';
import type { PostgresInventory } from '../core/backup-set/manifest';
import { formatBytes } from '../core/format';
import { silentLogger } from '../core/logger';
import type { RestoreReport } from '../core/restore-shared/report';
import { runRestoreTest } from '../core/sources/postgres/restore/set-restore';
import { defaultDumpOptions, PostgresSource } from '../core/sources/postgres/postgres-source';
import { archivePathOf, defaultRestoreOptions } from '../core/sources/postgres/restore/pg-restore';
import { createProtheusDatabase } from '../support/fixtures/protheus-db';
import { pgEnv, startPostgres, type PgServer } from '../support/postgres';

const ROOT = path.resolve(__dirname, '..');

function option(flag: string, env: string, fallback: string): string {
	const i = process.argv.indexOf(flag);
	return i >= 0 ? process.argv[i + 1] : (process.env[env] ?? fallback);
}

const scale = Number(option('--scale', 'BENCH_SCALE', '200000'));
const rounds = Math.max(1, Number(option('--rounds', 'BENCH_ROUNDS', '2')));
const jobs = Math.max(1, Number(option('--jobs', 'BENCH_JOBS', String(os.cpus().length))));
const out = option(
	'--out',
	'BENCH_OUT',
	path.join(
		ROOT,
		'bench',
		'results',
		`restore-test-${new Date().toISOString().slice(0, 16).replace(/[-:]/g, '')}Z.txt`,
	),
);

function say(line: string) {
	console.log(line);
	appendFileSync(out, line + '\n');
}

/** The hand-typed baseline: createdb with the source's encoding, pg_restore -j N, timed; then dropdb (not timed). */
function baseline(
	server: PgServer,
	archive: string,
	inventory: { encoding: string; collation: string; ctype: string },
): { seconds: number; rows: number } {
	const env = { ...process.env, ...pgEnv(server.info()) };
	const run = (tool: string, args: string[]) => {
		const result = spawnSync(path.join(server.binDir, tool), args, { env, encoding: 'utf8' });
		if (result.status !== 0) throw new Error(`${tool} failed: ${result.stderr}`);
		return result.stdout;
	};
	const name = 'bench_baseline';
	const started = process.hrtime.bigint();
	run('createdb', [
		'--template=template0',
		`--encoding=${inventory.encoding}`,
		`--lc-collate=${inventory.collation}`,
		`--lc-ctype=${inventory.ctype}`,
		name,
	]);
	run('pg_restore', [
		'--exit-on-error',
		`--jobs=${jobs}`,
		'--no-owner',
		'--no-privileges',
		`--dbname=${name}`,
		archive,
	]);
	const seconds = Number(process.hrtime.bigint() - started) / 1e9;
	const rows = Number(
		run('psql', [
			'-X',
			'-A',
			'-t',
			'-d',
			name,
			'-c',
			"SELECT sum((xpath('/row/c/text()', query_to_xml(format('SELECT count(*) AS c FROM %I.%I', schemaname, tablename), false, true, '')))[1]::text::bigint) FROM pg_tables WHERE schemaname = 'public'",
		]).trim(),
	);
	run('dropdb', [name]);
	return { seconds, rows };
}

async function ours(server: PgServer, folder: string): Promise<{ seconds: number; report: RestoreReport }> {
	const started = process.hrtime.bigint();
	const report = await runRestoreTest({
		folder,
		connection: {
			host: server.host,
			port: server.port,
			database: 'postgres',
			user: server.user,
			password: server.password,
			sslMode: 'disable',
			binFolder: server.binDir,
		},
		restore: { ...defaultRestoreOptions, jobs },
		freshnessDays: 3,
		keepOnFailure: false,
		log: silentLogger,
	});
	return { seconds: Number(process.hrtime.bigint() - started) / 1e9, report };
}

async function main() {
	mkdirSync(path.dirname(out), { recursive: true });
	const server = await startPostgres();
	const staging = mkdtempSync(path.join(os.tmpdir(), 'totvs-bench-rt-'));
	try {
		say(`# restore-test benchmark ${new Date().toISOString()}`);
		say(
			`# host: ${os.cpus().length} CPUs (${os.cpus()[0]?.model ?? '?'}), ${formatBytes(os.totalmem())} RAM, Node ${process.version}, PostgreSQL ${server.version}`,
		);
		const built = Date.now();
		const fixture = await createProtheusDatabase(server, { name: 'protheus', scale });
		say(
			`# fixture: scale ${scale}, ${formatBytes(fixture.sizeBytes)}, ${fixture.tables.length} tables, built in ${((Date.now() - built) / 1000).toFixed(1)} s`,
		);
		const dumped = Date.now();
		const set = await makeBackup(new PostgresSource(), {
			connection: {
				host: server.host,
				port: server.port,
				database: 'protheus',
				user: server.user,
				password: server.password,
				sslMode: 'disable',
				binFolder: server.binDir,
			},
			options: defaultDumpOptions,
			environment: 'bench',
			type: 'full',
			stagingFolder: staging,
			log: silentLogger,
		});
		const archive = archivePathOf(set.folder, set.manifest);
		const totalRows = (set.manifest.inventory as PostgresInventory).tables.reduce((sum, t) => sum + t.rows, 0);
		say(
			`# dump: ${formatBytes(set.manifest.artifacts[0].bytes)} (custom format, gzip) in ${((Date.now() - dumped) / 1000).toFixed(1)} s; ${totalRows} rows; pg_restore -j ${jobs} for both`,
		);
		say('variant   round  seconds  detail');
		const times = { baseline: [] as number[], ours: [] as number[] };
		for (let round = 1; round <= rounds; round++) {
			const order = round % 2 ? (['baseline', 'ours'] as const) : (['ours', 'baseline'] as const);
			for (const variant of order) {
				if (variant === 'baseline') {
					const b = baseline(
						server,
						archive,
						set.manifest.source as { encoding: string; collation: string; ctype: string },
					);
					if (b.rows !== totalRows) throw new Error(`baseline restored ${b.rows} rows, the dump has ${totalRows}`);
					times.baseline.push(b.seconds);
					say(`baseline  ${round}      ${b.seconds.toFixed(2).padStart(7)}  createdb + pg_restore -j ${jobs}`);
				} else {
					const o = await ours(server, set.folder);
					const failed = o.report.checks.filter((c) => !c.ok);
					if (failed.length)
						throw new Error(`our restore test failed: ${failed.map((c) => `${c.name}: ${c.message}`).join('; ')}`);
					times.ours.push(o.seconds);
					say(
						`ours      ${round}      ${o.seconds.toFixed(2).padStart(7)}  pg_restore ${(o.report.restoreMs / 1000).toFixed(2)} s, checks ${(o.report.checksMs / 1000).toFixed(2)} s, ` +
							`verify+create+drop ${(o.seconds - (o.report.restoreMs + o.report.checksMs) / 1000).toFixed(2)} s; ${o.report.checks.length} checks passed; restored ${formatBytes(o.report.restoredBytes)}`,
					);
				}
			}
		}
		const mean = (xs: number[]) => xs.reduce((sum, x) => sum + x, 0) / xs.length;
		const ratio = mean(times.ours) / mean(times.baseline);
		const perRound = times.ours.map((t, i) => (t / times.baseline[i]).toFixed(2)).join(', ');
		say(
			`# mean: baseline ${mean(times.baseline).toFixed(2)} s, ours ${mean(times.ours).toFixed(2)} s; best: baseline ${Math.min(...times.baseline).toFixed(2)} s, ours ${Math.min(...times.ours).toFixed(2)} s`,
		);
		say(
			`# ratio ours/baseline (means): ${ratio.toFixed(2)}x; per round: ${perRound} (target <= 1.2x, including every check) ${ratio <= 1.2 ? 'MET' : 'NOT MET'}`,
		);
		say(`# results: ${path.relative(ROOT, out)}`);
	} finally {
		rmSync(staging, { recursive: true, force: true });
		await server.stop();
	}
}

main().catch((error: unknown) => {
	console.error(error);
	process.exit(1);
});
