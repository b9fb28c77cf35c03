/**
 * The Monitor example workflows (examples/monitor-*.json) against the node's own description:
 * every parameter, threshold and option they set exists, every value is one the node offers, the
 * credentials match the destinations, and the connections name real nodes. (Running them in a
 * real n8n is the e2e suite's: test/e2e/examples.e2e.ts.)
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { INodeProperties } from 'n8n-workflow';
import { TotvsMonitor } from '../../../nodes/TotvsMonitor/TotvsMonitor.node';

interface ExampleNode {
	name: string;
	type: string;
	parameters: Record<string, unknown>;
	credentials?: Record<string, { id: string; name: string }>;
}
interface Example {
	nodes: ExampleNode[];
	connections: Record<string, { main: Array<Array<{ node: string }>> }>;
}

const EXAMPLES = join(__dirname, '../../../examples');
const files = readdirSync(EXAMPLES).filter((f) => /^monitor-.*\.json$/.test(f));
const description = new TotvsMonitor().description;
const property = (name: string) => description.properties.find((p) => p.name === name);
const optionNames = (p: INodeProperties | undefined) => (p?.options ?? []).map((o) => ('name' in o ? o.name : ''));
const optionValues = (p: INodeProperties | undefined) => (p?.options ?? []).map((o) => ('value' in o ? o.value : ''));

describe('the Monitor examples', () => {
	it('are the watchdog, the metrics endpoint and the weekly status email', () => {
		expect(files.sort()).toEqual(['monitor-metrics.json', 'monitor-watchdog.json', 'monitor-weekly-status.json']);
	});

	describe.each(files)('%s', (file) => {
		const example = JSON.parse(readFileSync(join(EXAMPLES, file), 'utf8')) as Example;
		const monitors = example.nodes.filter((n) => n.type === 'n8n-nodes-totvs-backup.totvsMonitor');

		it('uses only parameters, thresholds and options TOTVS Monitor has, with values it offers', () => {
			expect(monitors).toHaveLength(1);
			for (const node of monitors) {
				const parameters = node.parameters;
				for (const name of Object.keys(parameters))
					expect({ name, known: !!property(name) }).toEqual({ name, known: true });
				for (const name of Object.keys((parameters.thresholds as object) ?? {}))
					expect(optionNames(property('thresholds'))).toContain(name);
				for (const name of Object.keys((parameters.options as object) ?? {}))
					expect(optionNames(property('options'))).toContain(name);
				expect(optionValues(property('output'))).toContain(parameters.output);
				for (const destination of parameters.destinations as string[])
					expect(optionValues(property('destinations'))).toContain(destination);
			}
		});

		it('gives each chosen destination its credential, and no other', () => {
			for (const node of monitors) {
				const chosen = node.parameters.destinations as string[];
				const needed = (description.credentials ?? [])
					.filter((c) => (c.displayOptions?.show?.destinations as string[]).some((d) => chosen.includes(d)))
					.map((c) => c.name);
				expect(Object.keys(node.credentials ?? {}).sort()).toEqual(needed.sort());
			}
		});

		it('connects only nodes that exist', () => {
			const names = new Set(example.nodes.map((n) => n.name));
			for (const [from, { main }] of Object.entries(example.connections)) {
				expect(names.has(from)).toBe(true);
				for (const output of main) for (const { node } of output) expect(names.has(node)).toBe(true);
			}
		});
	});

	it('the watchdog alerts on any status but ok, from a schedule of its own', () => {
		const example = JSON.parse(readFileSync(join(EXAMPLES, 'monitor-watchdog.json'), 'utf8')) as Example;
		expect(example.nodes.map((n) => n.type)).toEqual(
			expect.arrayContaining([
				'n8n-nodes-base.scheduleTrigger',
				'n8n-nodes-base.if',
				'n8n-nodes-base.slack',
				'n8n-nodes-base.emailSend',
			]),
		);
		const condition = JSON.stringify(example.nodes.find((n) => n.type === 'n8n-nodes-base.if')!.parameters);
		expect(condition).toContain('"leftValue":"={{ $json.status }}","rightValue":"ok"');
		expect(condition).toContain('"operation":"notEquals"');
		// The true branch alerts, the false branch (all ok) does nothing.
		expect(example.connections['Anything wrong?'].main.map((o) => o.map((c) => c.node))).toEqual([
			['Slack: backup alert', 'Email: backup alert'],
			[],
		]);
	});

	it('the metrics endpoint answers the webhook with the metrics text and its content type', () => {
		const example = JSON.parse(readFileSync(join(EXAMPLES, 'monitor-metrics.json'), 'utf8')) as Example;
		const webhook = example.nodes.find((n) => n.type === 'n8n-nodes-base.webhook')!;
		expect(webhook.parameters).toMatchObject({ httpMethod: 'GET', responseMode: 'responseNode' });
		const respond = example.nodes.find((n) => n.type === 'n8n-nodes-base.respondToWebhook')!;
		expect(respond.parameters).toMatchObject({
			respondWith: 'text',
			responseBody: '={{ $json.metrics }}',
			options: { responseHeaders: { entries: [{ name: 'Content-Type', value: '={{ $json.contentType }}' }] } },
		});
	});
});
