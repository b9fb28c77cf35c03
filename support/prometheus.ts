/**
 * Debian's prometheus on a free loopback port, with a temporary config and TSDB folder, scraping
 * one target: what a user's Prometheus does with the metrics example's webhook. `query` asks its
 * HTTP API (`/api/v1/query`), so a test reads what Prometheus stored, not what it was sent.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort, spawnDaemon, waitForPort } from './daemons';

export const PROMETHEUS = '/usr/bin/prometheus';
export const PROMTOOL = '/usr/bin/promtool';

export interface ScrapeTarget {
	/** host:port */
	target: string;
	metricsPath: string;
	/** Default 1s: a test waits for the first scrapes. */
	scrapeInterval?: string;
}

export interface PromSample {
	metric: Record<string, string>;
	value: [number, string];
}

export interface PrometheusServer {
	url: string;
	port: number;
	/** The result of an instant query (`/api/v1/query`); throws when Prometheus answers an error. */
	query(expression: string): Promise<PromSample[]>;
	/** Scrape targets as Prometheus sees them (health, lastError): for failure messages. */
	targets(): Promise<string>;
	output(): string;
	stop(): Promise<void>;
}

/** Why Prometheus cannot run here, or undefined when it can. */
export function prometheusUnavailable(): string | undefined {
	const found = spawnSync('sh', ['-c', `test -x ${PROMETHEUS}`]);
	return found.status === 0 ? undefined : `${PROMETHEUS} not installed (apt-get install prometheus, or run .ci/run)`;
}

export async function startPrometheus(scrape: ScrapeTarget): Promise<PrometheusServer> {
	const port = await freePort();
	const dir = mkdtempSync(path.join(os.tmpdir(), 'totvs-prometheus-'));
	const config = path.join(dir, 'prometheus.yml');
	// JSON is YAML: no YAML writer needed, and no quoting mistakes.
	writeFileSync(
		config,
		JSON.stringify({
			global: { scrape_interval: scrape.scrapeInterval ?? '1s', scrape_timeout: '1s' },
			scrape_configs: [
				{
					job_name: 'totvs-backup',
					metrics_path: scrape.metricsPath,
					scrape_interval: scrape.scrapeInterval ?? '1s',
					static_configs: [{ targets: [scrape.target] }],
				},
			],
		}),
	);
	const daemon = spawnDaemon(PROMETHEUS, [
		`--config.file=${config}`,
		`--storage.tsdb.path=${path.join(dir, 'data')}`,
		`--web.listen-address=127.0.0.1:${port}`,
		'--log.level=warn',
	]);
	const url = `http://127.0.0.1:${port}`;
	const stop = async () => {
		await daemon.stop();
		rmSync(dir, { recursive: true, force: true });
	};
	try {
		await waitForPort(port, daemon, 'prometheus', 60_000);
	} catch (error) {
		await stop();
		throw error;
	}
	return {
		url,
		port,
		async query(expression) {
			const res = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(expression)}`);
			const body = (await res.json()) as { status: string; error?: string; data?: { result: PromSample[] } };
			if (body.status !== 'success') throw new Error(`prometheus query ${expression}: ${body.error ?? res.status}`);
			return body.data?.result ?? [];
		},
		async targets() {
			const res = await fetch(`${url}/api/v1/targets`);
			return res.text();
		},
		output: () => daemon.output(),
		stop,
	};
}

/** `promtool check metrics` on an exposition text: '' when it passes, else what promtool said. */
export function promtoolCheckMetrics(text: string): string {
	const result = spawnSync(PROMTOOL, ['check', 'metrics'], { input: text, encoding: 'utf8' });
	if (result.error) throw result.error;
	return result.status === 0 ? '' : `${result.stdout}${result.stderr}`.trim() || `exit ${result.status}`;
}
