import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from '@jest/globals';
import { parseAllDocuments } from 'yaml';

/**
 * The Kubernetes manifests, checked without a cluster: `kubectl kustomize` renders the base, every
 * object is validated against the Kubernetes schemas (kubernetes-models), fields the schemas do
 * not know are refused (the schemas alone let them through), and the objects agree with each other
 * and with the service (probe paths, selectors, ports, the shutdown delay).
 */
type Json = Record<string, unknown>;
type K8sObject = Json & { apiVersion: string; kind: string; metadata: { name: string } };

const run = promisify(execFile);

async function render(dir: string): Promise<K8sObject[]> {
  const { stdout } = await run('kubectl', ['kustomize', dir], { timeout: 30_000 }).catch(
    (error: Error) => {
      throw new Error(`kubectl kustomize ${dir} failed (is kubectl installed?): ${error.message}`);
    },
  );
  return parseAllDocuments(stdout).map((doc) => doc.toJSON() as K8sObject);
}

/** A proxy that records every property path the validator reads: schema validators read each
 *  property they declare (and enumerate free-form maps), so a key never read is one the schema
 *  does not know. */
function tracked(value: unknown, path: string, seen: Set<string>): unknown {
  if (value === null || typeof value !== 'object') return value;
  return new Proxy(value, {
    get(target, key, receiver) {
      const child: unknown = Reflect.get(target, key, receiver);
      if (typeof key !== 'string') return child;
      seen.add(`${path}/${key}`);
      return tracked(child, `${path}/${key}`, seen);
    },
    has(target, key) {
      if (typeof key === 'string') seen.add(`${path}/${key}`);
      return Reflect.has(target, key);
    },
    ownKeys(target) {
      for (const key of Reflect.ownKeys(target)) {
        if (typeof key === 'string') seen.add(`${path}/${key}`);
      }
      return Reflect.ownKeys(target);
    },
  });
}

function allPaths(value: unknown, path: string, out: string[]): string[] {
  if (value !== null && typeof value === 'object') {
    for (const [key, child] of Object.entries(value)) {
      out.push(`${path}/${key}`);
      allPaths(child, `${path}/${key}`, out);
    }
  }
  return out;
}

interface ModelClass {
  prototype: { validate(this: unknown): void };
}

async function modelFor(object: K8sObject): Promise<ModelClass> {
  const module = (await import(`kubernetes-models/${object.apiVersion}/${object.kind}`)) as Record<
    string,
    ModelClass
  >;
  const model = module[object.kind];
  if (!model) throw new Error(`no schema for ${object.apiVersion} ${object.kind}`);
  return model;
}

/** Schema errors and unknown fields of one object, as readable strings. */
async function problems(object: K8sObject): Promise<string[]> {
  const model = await modelFor(object);
  const seen = new Set<string>();
  try {
    model.prototype.validate.call(tracked(object, '', seen));
  } catch (error) {
    return [(error as Error).message];
  }
  return allPaths(object, '', [])
    .filter((path) => !seen.has(path))
    .map((path) => `unknown field ${path}`);
}

async function allProblems(objects: K8sObject[]): Promise<string[]> {
  const found: string[] = [];
  for (const object of objects) {
    for (const problem of await problems(object)) {
      found.push(`${object.kind}/${object.metadata.name}: ${problem}`);
    }
  }
  return found;
}

const get = (value: unknown, path: string): unknown =>
  path.split('.').reduce<unknown>((v, key) => (v as Json | undefined)?.[key], value);

function matches(selector: unknown, labels: unknown): boolean {
  const wanted = Object.entries((selector ?? {}) as Record<string, string>);
  return wanted.length > 0 && wanted.every(([k, v]) => (labels as Record<string, string>)[k] === v);
}

describe('Kubernetes manifests (kustomize base)', () => {
  let objects: K8sObject[];
  const one = (kind: string) => {
    const found = objects.filter((o) => o.kind === kind);
    expect(found).toHaveLength(1);
    return found[0];
  };
  type Container = Json & { name: string };
  const containersOf = (o: K8sObject) => get(o, 'spec.template.spec.containers') as Container[];

  beforeAll(async () => {
    objects = await render('deploy/k8s/base');
  });

  it('renders every object the service needs', () => {
    expect(objects.map((o) => o.kind).sort()).toEqual(
      [
        'ConfigMap',
        'Deployment',
        'HorizontalPodAutoscaler',
        'Job',
        'NetworkPolicy',
        'PodDisruptionBudget',
        'Secret',
        'Secret',
        'Service',
        'ServiceAccount',
      ].sort(),
    );
  });

  it('validates every object against the Kubernetes schemas, unknown fields included', async () => {
    expect(await allProblems(objects)).toEqual([]);
  });

  it('catches a misspelt field and a wrong type (the check can fail)', async () => {
    const deployment = structuredClone(one('Deployment'));
    (deployment.spec as Json).replicass = 3;
    (get(deployment, 'spec.template.spec.containers.0') as Json).imagePullPolicyy = 'Always';
    expect((await problems(deployment)).sort()).toEqual([
      'unknown field /spec/replicass',
      'unknown field /spec/template/spec/containers/0/imagePullPolicyy',
    ]);
    (deployment.spec as Json).replicas = 'two';
    expect((await problems(deployment)).join()).toMatch(/replicas must be integer/);
  });

  it('rolls out with no unavailable replica, at least two of them, spread over nodes', () => {
    const deployment = one('Deployment');
    expect(get(deployment, 'spec.replicas')).toBeGreaterThanOrEqual(2);
    expect(get(deployment, 'spec.strategy.type')).toBe('RollingUpdate');
    expect(get(deployment, 'spec.strategy.rollingUpdate.maxUnavailable')).toBe(0);
    const spread = get(deployment, 'spec.template.spec.topologySpreadConstraints') as Json[];
    const labels = get(deployment, 'spec.template.metadata.labels');
    expect(spread.map((s) => s.topologyKey)).toContain('kubernetes.io/hostname');
    for (const s of spread) expect(matches(get(s, 'labelSelector.matchLabels'), labels)).toBe(true);
  });

  it('probes the health endpoints on the container port', () => {
    const [container] = containersOf(one('Deployment'));
    const ports = container.ports as { name: string; containerPort: number }[];
    expect(ports).toEqual([expect.objectContaining({ name: 'http', containerPort: 3000 })]);
    expect(get(container, 'startupProbe.httpGet')).toEqual({
      path: '/billing/health/live',
      port: 'http',
    });
    expect(get(container, 'livenessProbe.httpGet')).toEqual({
      path: '/billing/health/live',
      port: 'http',
    });
    expect(get(container, 'readinessProbe.httpGet')).toEqual({
      path: '/billing/health/ready',
      port: 'http',
    });
  });

  it('runs every pod non-root, read-only, with no capability, within resource limits', () => {
    for (const workload of [one('Deployment'), one('Job')]) {
      expect(get(workload, 'spec.template.spec.securityContext.runAsNonRoot')).toBe(true);
      expect(get(workload, 'spec.template.spec.automountServiceAccountToken')).toBe(false);
      for (const container of containersOf(workload)) {
        expect(container.securityContext).toMatchObject({
          allowPrivilegeEscalation: false,
          readOnlyRootFilesystem: true,
          capabilities: { drop: ['ALL'] },
        });
        for (const key of ['requests.cpu', 'requests.memory', 'limits.cpu', 'limits.memory']) {
          expect(get(container.resources, key)).toBeDefined();
        }
        const mounts = container.volumeMounts as { mountPath: string }[];
        expect(mounts.map((m) => m.mountPath)).toContain('/tmp');
      }
    }
  });

  it('gives the pod more grace than the shutdown delay plus a drain', () => {
    const deployment = one('Deployment');
    const config = one('ConfigMap');
    const delayMs = Number(get(config, 'data.SHUTDOWN_DELAY_MS'));
    const graceMs =
      Number(get(deployment, 'spec.template.spec.terminationGracePeriodSeconds')) * 1000;
    expect(delayMs).toBeGreaterThan(0);
    expect(graceMs).toBeGreaterThanOrEqual(delayMs + 15_000);
  });

  it('selects the API pods, and only them, from the Service, PDB, HPA and NetworkPolicy', () => {
    const deployment = one('Deployment');
    const apiLabels = get(deployment, 'spec.template.metadata.labels');
    const jobLabels = get(one('Job'), 'spec.template.metadata.labels');
    const selectors = {
      deployment: get(deployment, 'spec.selector.matchLabels'),
      service: get(one('Service'), 'spec.selector'),
      pdb: get(one('PodDisruptionBudget'), 'spec.selector.matchLabels'),
      networkPolicy: get(one('NetworkPolicy'), 'spec.podSelector.matchLabels'),
    };
    for (const [name, selector] of Object.entries(selectors)) {
      expect([name, matches(selector, apiLabels)]).toEqual([name, true]);
      expect([name, matches(selector, jobLabels)]).toEqual([name, false]);
    }
    expect(get(one('Service'), 'spec.ports.0.targetPort')).toBe('http');
    const hpa = one('HorizontalPodAutoscaler');
    expect(get(hpa, 'spec.scaleTargetRef')).toEqual({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      name: deployment.metadata.name,
    });
    expect(get(hpa, 'spec.minReplicas')).toBeGreaterThanOrEqual(2);
  });

  it('admits only labelled caller pods and the Prometheus scraper', () => {
    const rules = get(one('NetworkPolicy'), 'spec.ingress') as { from?: Json[] }[];
    const peers = rules.flatMap((rule) => {
      // A rule with no `from` admits everyone.
      expect(rule.from?.length).toBeGreaterThan(0);
      return rule.from ?? [];
    });
    expect(peers).toEqual([
      {
        namespaceSelector: {},
        podSelector: { matchLabels: { 'billing.example.com/caller': 'true' } },
      },
      {
        namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } },
        podSelector: { matchLabels: { 'app.kubernetes.io/name': 'prometheus' } },
      },
    ]);
  });

  it('migrates from the same image with the migration command, never retrying forever', () => {
    const job = one('Job');
    const [migrate] = containersOf(job);
    const [api] = containersOf(one('Deployment'));
    expect(migrate.image).toBe(api.image);
    expect(migrate.command).toEqual(['node', 'dist/src/cli/migrate.js']);
    expect(get(job, 'spec.template.spec.restartPolicy')).toBe('Never');
    expect(get(job, 'spec.backoffLimit')).toBeLessThanOrEqual(3);
    expect(get(job, 'spec.activeDeadlineSeconds')).toBeGreaterThan(0);
  });

  it('holds no real secret: every Secret value is a placeholder', () => {
    const secrets = objects.filter((o) => o.kind === 'Secret');
    for (const secret of secrets) {
      expect(secret.data).toBeUndefined();
      for (const value of Object.values(secret.stringData as Record<string, string>)) {
        expect(value).toMatch(/^CHANGE-ME/);
      }
    }
    const config = one('ConfigMap').data as Record<string, string>;
    expect(Object.keys(config).filter((k) => /TOKEN|PASSWORD|SECRET|DATABASE_URL/.test(k))).toEqual(
      [],
    );
  });
});

describe('Kubernetes manifests (the example overlay)', () => {
  it('renders valid objects in its namespace, with its image and without placeholder Secrets', async () => {
    const objects = await render('deploy/k8s/overlays/example');
    expect(await allProblems(objects)).toEqual([]);
    expect(objects.filter((o) => o.kind === 'Secret')).toEqual([]);
    expect(new Set(objects.map((o) => get(o, 'metadata.namespace')))).toEqual(new Set(['billing']));
    const images = objects
      .filter((o) => o.kind === 'Deployment' || o.kind === 'Job')
      .map((o) => get(o, 'spec.template.spec.containers.0.image'));
    expect(images).toEqual([
      'registry.example.com/billing-service:1.4.0',
      'registry.example.com/billing-service:1.4.0',
    ]);
  });

  it('labels the migration Job alone as component=migrate (kubectl apply -l selects it)', async () => {
    const objects = await render('deploy/k8s/overlays/example');
    const labelled = objects.filter(
      (o) =>
        get(o, 'metadata.labels') !== undefined &&
        (get(o, 'metadata.labels') as Record<string, string>)['app.kubernetes.io/component'] ===
          'migrate',
    );
    expect(labelled.map((o) => o.kind)).toEqual(['Job']);
  });
});
