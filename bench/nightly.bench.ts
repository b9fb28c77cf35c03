/**
 * The nightly window (issue 12): Dump → Verify → Upload (SFTP) of a Protheus-like database,
 * plain and sealed (Encrypt and Sign), against bare `pg_dump -Fc -f file` and against the script
 * a sysadmin would write (`pg_dump -Fc${z} | age -r … > f; sha256sum f; sftp put f`), in the same
 * run, alternating (the order rotates every round). Ratios are printed, never asserted:
 *   sealed / bare pg_dump -Fc      goal ≤ 1.3
 *   sealed / plain (ours)          encryption's cost, goal ≤ 1.10 (≤ 10 % of throughput)
 *   peak RSS of our process        goal: flat (the same at every size)
 * Each window of ours runs in its own Node process (its peak RSS is its own); the Verify step is
 * the one a backup host runs (public keys only: ciphertext size and SHA-256, signature).
 *
 *   npx tsx bench/nightly.bench.ts                        # scale 40000 (~220 MiB database), 3 rounds
 *   npx tsx bench/nightly.bench.ts --scales 20000,180000 --rounds 2
 *   npx tsx bench/nightly.bench.ts --compression none      # archives as large as the data (all variants)
 *   npx tsx bench/nightly.bench.ts --rounds 1 --trace      # + where our windows spend their time (stderr)
 *
 * Needs root (sshd with a test user, as the tests), age, sftp. Results go to
 * bench/results/nightly-<time>.txt.
 */
import { spawn, spawnSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { makeBackup } from '../core/backup';
import { parseSetKeys, withSetKeys, type SetKeysText } from '../core/backup-set/set-keys';
import { openDestination, type DestinationConfig } from '../core/destinations';
import { formatBytes } from '../core/format';
import { uploadWhileWriting } from '../core/pipeline/upload-while-writing';
import { currentOwner } from '../core/locking/environment-lock';
import { silentLogger, type Logger } from '../core/logger';
import { generateAgeIdentity } from '../core/sealing';
import type { PostgresConnection } from '../core/sources/postgres/connection';
import { defaultDumpOptions, PostgresSource } from '../core/sources/postgres/postgres-source';
import { uploadSet } from '../core/upload/set-transfer';
import { verifyLocalSet } from '../core/verify/verify-set';
import { createProtheusDatabase } from '../support/fixtures/protheus-db';
import { pgEnv, startPostgres } from '../support/postgres';
import { startSshd } from '../support/sshd';
import { statusKiB } from './proc';

const ROOT = path.resolve(__dirname, '..');

function arg(name: string, fallback: string): string {
	const index = process.argv.indexOf(`--${name}`);
	return index >= 0 ? process.argv[index + 1] : fallback;
}

/* ------------------------------------------------------------------ the child: one window of ours */

interface WindowRequest {
	connection: PostgresConnection;
	staging: string;
	destination: DestinationConfig;
	keys?: SetKeysText;
	compression: 'gzip' | 'none';
	/** Send each artifact to the destination while the dump writes it (core/pipeline/upload-while-writing.ts). */
	overlap?: boolean;
	/** Print a timestamped line for each log message of the dump and each destination call (stderr). */
	trace?: boolean;
}
interface WindowResult {
	ms: number;
	dumpMs: number;
	verifyMs: number;
	uploadMs: number;
	bytes: number;
	hwmBeforeKiB?: number;
	hwmKiB?: number;
	verified: boolean;
}

async function child(): Promise<void> {
	const chunks: Buffer[] = [];
	for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
	const request = JSON.parse(Buffer.concat(chunks).toString()) as WindowRequest;
	const keys = request.keys ? parseSetKeys(request.keys, { encrypt: true, sign: true }) : undefined;
	const hwmBeforeKiB = statusKiB('self', 'VmHWM');
	const lock = { owner: currentOwner('nightly-bench') };
	const started = Date.now();
	const stamp = () => `${((Date.now() - started) / 1000).toFixed(2).padStart(6)}s`;
	const log: Logger = request.trace
		? {
				debug: (m) => console.error(`${stamp()} dump: ${m}`),
				info: (m) => console.error(`${stamp()} dump: ${m}`),
				warn: (m) => console.error(`${stamp()} dump: ${m}`),
			}
		: silentLogger;
	const opened = openDestination(request.destination);
	// Each destination call with its duration, to see where the upload's time goes.
	const destination = request.trace
		? new Proxy(opened, {
				get(target, property, receiver) {
					const value = Reflect.get(target, property, receiver) as unknown;
					if (typeof value !== 'function') return value;
					return (...args: unknown[]) => {
						const t0 = Date.now();
						const result = (value as (...a: unknown[]) => unknown).apply(target, args);
						const what = `${String(property)}(${args.filter((a) => typeof a === 'string').join(', ')})`;
						if (result instanceof Promise)
							void result.then(
								() => console.error(`${stamp()} destination ${what} ${Date.now() - t0} ms`),
								() => console.error(`${stamp()} destination ${what} failed after ${Date.now() - t0} ms`),
							);
						return result;
					};
				},
			})
		: opened;
	const result = await withSetKeys(keys, async () => {
		const dump = () =>
			makeBackup(new PostgresSource(), {
				connection: request.connection,
				options: { ...defaultDumpOptions, compression: request.compression },
				environment: 'prod',
				type: 'full',
				stagingFolder: request.staging,
				log,
			});
		const made = request.overlap
			? await uploadWhileWriting(destination, { environment: 'prod', lock, logger: log }, dump)
			: await dump();
		const dumped = Date.now();
		log.info('window: dump done, verify starts');
		const { verification } = await verifyLocalSet(made.folder);
		const verified = Date.now();
		log.info('window: verify done, upload starts');
		const upload = await uploadSet(destination, made.folder, { lock });
		const uploaded = Date.now();
		return {
			ms: uploaded - started,
			dumpMs: dumped - started,
			verifyMs: verified - dumped,
			uploadMs: uploaded - verified,
			bytes: made.manifest.artifacts.reduce((sum, a) => sum + a.bytes, 0),
			// Every file of the set proven on the destination by its SHA-256 (sha256sum there).
			verified: verification.ok && upload.verifiedBy === 'sha256',
		};
	});
	await destination.close();
	const out: WindowResult = { ...result, hwmBeforeKiB, hwmKiB: statusKiB('self', 'VmHWM') };
	process.stdout.write(`BENCH_RESULT ${JSON.stringify(out)}\n`);
}

function runWindow(request: WindowRequest): Promise<WindowResult> {
	return new Promise((resolve, reject) => {
		const proc = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'bench', 'nightly.bench.ts'), '--child'], {
			cwd: ROOT,
			stdio: ['pipe', 'pipe', 'inherit'],
		});
		let stdout = '';
		proc.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
		proc.on('error', reject);
		proc.on('close', (code) => {
			const line = stdout.split('\n').find((l) => l.startsWith('BENCH_RESULT '));
			if (code !== 0 || !line) return reject(new Error(`window child failed (exit ${code}): ${stdout.slice(-500)}`));
			resolve(JSON.parse(line.slice('BENCH_RESULT '.length)) as WindowResult);
		});
		proc.stdin.end(JSON.stringify(request));
	});
}

/* ------------------------------------------------------------------ the parent */

function timedShell(script: string, env: NodeJS.ProcessEnv): number {
	const started = process.hrtime.bigint();
	const result = spawnSync('bash', ['-euo', 'pipefail', '-c', script], { env, encoding: 'utf8' });
	if (result.status !== 0) throw new Error(`script failed: ${result.stderr}`);
	return Number(process.hrtime.bigint() - started) / 1e6;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

async function main(): Promise<void> {
	const scales = arg('scales', '40000').split(',').map(Number);
	const rounds = Math.max(1, Number(arg('rounds', '3')));
	// none: the archive is as large as the data, so encryption and upload throughput show (the fixture
	// compresses about 20:1, which leaves fixed costs dominating the window).
	const compression = arg('compression', 'gzip') as 'gzip' | 'none';
	const trace = process.argv.includes('--trace');
	// sealed+ / plain+: the transfer runs while the dump writes (core/pipeline/upload-while-writing.ts).
	// plain+ is accepted but overlaps nothing today: a plain custom-format dump is written by pg_dump
	// itself (-f), which rewrites the archive's table of contents at the end, so only the sealed
	// path (pg_dump's stdout through the set writer) can be followed.
	const variants = arg('variants', 'bare,script,plain,sealed,sealed+').split(',');
	const ours = variants.filter((v) => v !== 'bare' && v !== 'script');
	const z = compression === 'none' ? ' -Z0' : '';
	const stamp = new Date().toISOString().replace(/[-:]/g, '').slice(0, 13);
	const out = arg('out', path.join(ROOT, 'bench', 'results', `nightly-${stamp}Z.txt`));
	const lines: string[] = [];
	const say = (line: string) => {
		console.log(line);
		lines.push(line);
	};
	const work = mkdtempSync(path.join(os.tmpdir(), 'totvs-nightly-bench-'));
	const server = await startPostgres();
	const sshd = await startSshd();
	try {
		const owner = generateAgeIdentity();
		const signingKey = generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
		const keys: SetKeysText = { recipients: owner.recipient, signingKey };
		const sftp: DestinationConfig = {
			type: 'sftp',
			host: '127.0.0.1',
			port: sshd.port,
			username: sshd.user.name,
			password: sshd.user.password,
			hostKeySha256: sshd.hostKeySha256,
			folder: sshd.user.home,
		};
		const sshOptions = `-i ${sshd.plainClientKeyFile} -o UserKnownHostsFile=${sshd.knownHostsFile} -o BatchMode=yes`;
		const cpus = os.cpus().length;
		say(
			`# nightly window benchmark ${new Date().toISOString()}: Dump → Verify → Upload (SFTP, loopback), ${rounds} rounds, order rotating; ${cpus} CPUs, load ${os
				.loadavg()
				.map((l) => l.toFixed(1))
				.join(' ')}`,
		);
		say(
			`# compression ${compression} (all variants); bare = pg_dump -Fc -f f; script = pg_dump -Fc | age -r R > f; sha256sum f; sftp put f; ours = TOTVS Dump + Verify (public keys) + Upload`,
		);
		for (const scale of scales) {
			const database = `protheus_${scale}`;
			await createProtheusDatabase(server, { name: database, scale });
			const [{ size }] = await server.admin<{ size: string }>('SELECT pg_database_size($1) AS size', 'postgres', [
				database,
			]);
			const connection = {
				host: server.host,
				port: server.port,
				database,
				user: server.user,
				password: server.password,
				sslMode: 'disable',
				binFolder: server.binDir,
			} as PostgresConnection;
			const env = { ...process.env, ...pgEnv(server.info(), database), PATH: `${server.binDir}:${process.env.PATH}` };
			const loads: number[] = [];
			const times: Record<string, number[]> = Object.fromEntries(variants.map((v) => [v, []]));
			const detail: Record<string, WindowResult[]> = Object.fromEntries(ours.map((v) => [v, []]));
			for (let round = 0; round < rounds; round++) {
				const order = [...variants.slice(round % variants.length), ...variants.slice(0, round % variants.length)];
				for (const variant of order) {
					loads.push(os.loadavg()[0]);
					const dir = path.join(work, `${variant}-${round}`);
					mkdirSync(dir);
					if (variant === 'bare') times.bare.push(timedShell(`pg_dump -Fc${z} -f ${dir}/f.dump`, env));
					else if (variant === 'script') {
						writeFileSync(
							path.join(dir, 'batch'),
							`put ${dir}/f.dump.age ${sshd.user.home}/script-${round}.dump.age\n`,
						);
						times.script.push(
							timedShell(
								`pg_dump -Fc${z} | age -r ${owner.recipient} > ${dir}/f.dump.age; sha256sum ${dir}/f.dump.age > /dev/null; sftp -q -b ${dir}/batch ${sshOptions} -P ${sshd.port} ${sshd.user.name}@127.0.0.1`,
								env,
							),
						);
					} else {
						const result = await runWindow({
							connection,
							staging: dir,
							destination: sftp,
							keys: variant.startsWith('sealed') ? keys : undefined,
							compression,
							overlap: variant.endsWith('+'),
							trace,
						});
						if (!result.verified)
							throw new Error(`${variant}: our set did not verify (locally, or by SHA-256 on the destination)`);
						times[variant].push(result.ms);
						detail[variant].push(result);
					}
					rmSync(dir, { recursive: true, force: true });
				}
			}
			const m = Object.fromEntries(Object.entries(times).map(([k, v]) => [k, median(v)]));
			const sealedBytes = median(
				detail[ours.find((v) => v.startsWith('sealed')) ?? ours[0]]?.map((d) => d.bytes) ?? [0],
			);
			say(`\n## scale ${scale}: database ${formatBytes(Number(size))}, sealed set ${formatBytes(sealedBytes)}`);
			say(
				`load (1-min average) at the start of each run: ${Math.min(...loads).toFixed(1)}–${Math.max(...loads).toFixed(1)}, median ${median(loads).toFixed(1)} (2 CPUs: other jobs' share varies, so compare ratios)`,
			);
			for (const k of variants)
				say(
					`${k.padEnd(8)} median ${(m[k] / 1000).toFixed(1)} s   runs ${times[k].map((t) => (t / 1000).toFixed(1)).join(' ')}`,
				);
			for (const k of ours)
				say(
					`${k.padEnd(8)} phases (median): dump ${(median(detail[k].map((d) => d.dumpMs)) / 1000).toFixed(1)} s, verify ${(median(detail[k].map((d) => d.verifyMs)) / 1000).toFixed(1)} s, upload ${(median(detail[k].map((d) => d.uploadMs)) / 1000).toFixed(1)} s; peak RSS ${Math.max(...detail[k].map((d) => d.hwmKiB ?? 0)) >> 10} MiB (at start ${Math.max(...detail[k].map((d) => d.hwmBeforeKiB ?? 0)) >> 10} MiB)`,
				);
			const ratio = (a: string, b: string, what: string) =>
				m[a] !== undefined &&
				m[b] !== undefined &&
				say(`ratio ${`${a} / ${b}`.padEnd(18)} ${(m[a] / m[b]).toFixed(2)}x   ${what}`);
			ratio('sealed+', 'bare', '(goal ≤ 1.30; upload while dumping)');
			ratio('sealed', 'bare', '(goal ≤ 1.30; upload after the dump)');
			ratio('plain+', 'bare', '');
			ratio('plain', 'bare', '');
			ratio('sealed+', 'plain+', '(encryption, goal ≤ 1.10)');
			ratio('sealed', 'plain', '(encryption, goal ≤ 1.10)');
			ratio('sealed+', 'sealed', '(what the overlap saves)');
			ratio('sealed+', 'script', '(the sysadmin script)');
			ratio('sealed', 'script', '');
			ratio('script', 'bare', '');
		}
	} finally {
		await sshd.stop();
		await server.stop();
		rmSync(work, { recursive: true, force: true });
	}
	mkdirSync(path.dirname(out), { recursive: true });
	writeFileSync(out, lines.join('\n') + '\n');
	console.log(`\nSaved ${path.relative(ROOT, out)}`);
}

if (process.argv.includes('--child')) {
	child().catch((error: unknown) => {
		console.error(error);
		process.exit(1);
	});
} else {
	main().catch((error: unknown) => {
		console.error(error);
		process.exit(1);
	});
}
