import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; [key: string]: unknown };
  [key: string]: unknown;
}

/**
 * Renders a kustomization the way `kubectl apply -k` does, for the subset of kustomize this repo
 * uses: resources (files and kustomization folders), namespace, images, replicas and strategic
 * merge patches (with null to remove a field and `$patch: delete` to remove an object). Any other field is an error, so that a kustomization never silently means more
 * than this renders. (No kustomize binary ships in a registry package that installs here.)
 */
export async function renderKustomization(dir: string): Promise<K8sObject[]> {
  const [kustomization] = await readYaml(path.join(dir, 'kustomization.yaml'));
  const spec = kustomization as Record<string, unknown>;
  const known = new Set(['apiVersion', 'kind', 'namespace', 'resources', 'images', 'replicas', 'patches']);
  const unknown = Object.keys(spec).filter((key) => !known.has(key));
  if (unknown.length > 0) throw new Error(`${dir}: kustomization fields not rendered here: ${unknown.join(', ')}`);

  const objects: K8sObject[] = [];
  for (const resource of (spec.resources ?? []) as string[]) {
    const target = path.join(dir, resource);
    objects.push(
      ...((await stat(target)).isDirectory()
        ? await renderKustomization(target)
        : ((await readYaml(target)) as K8sObject[])),
    );
  }
  const ids = objects.map(id);
  const duplicate = ids.find((value, i) => ids.indexOf(value) !== i);
  if (duplicate) throw new Error(`${dir}: ${duplicate} is defined twice`);

  for (const patch of (spec.patches ?? []) as Array<{ path: string }>) {
    for (const change of (await readYaml(path.join(dir, patch.path))) as Array<K8sObject & { $patch?: string }>) {
      const index = objects.findIndex(
        (object) => object.kind === change.kind && object.metadata.name === change.metadata.name,
      );
      if (index < 0) throw new Error(`${dir}/${patch.path}: no ${change.kind} ${change.metadata.name} to patch`);
      // `$patch: delete` removes the object; other directives are not rendered here.
      if (change.$patch === 'delete') objects.splice(index, 1);
      else if (change.$patch !== undefined) throw new Error(`${dir}/${patch.path}: $patch: ${change.$patch}`);
      else objects[index] = strategicMerge(objects[index], change) as K8sObject;
    }
  }
  if (typeof spec.namespace === 'string') {
    for (const object of objects) if (!CLUSTER_SCOPED.has(object.kind)) object.metadata.namespace = spec.namespace;
  }
  for (const image of (spec.images ?? []) as Array<{ name: string; newName?: string; newTag?: string }>) {
    for (const container of objects.flatMap(containers)) {
      const [name, tag] = splitImage(container.image);
      if (name !== image.name) continue;
      container.image = `${image.newName ?? name}${image.newTag ? `:${image.newTag}` : tag ? `:${tag}` : ''}`;
    }
  }
  for (const { name, count } of (spec.replicas ?? []) as Array<{ name: string; count: number }>) {
    const target = objects.find((object) => WORKLOADS.has(object.kind) && object.metadata.name === name);
    if (!target) throw new Error(`${dir}: replicas for ${name}, which is not here`);
    (target.spec as { replicas?: number }).replicas = count;
  }
  return objects;
}

const CLUSTER_SCOPED = new Set([
  'Namespace',
  'PersistentVolume',
  'StorageClass',
  'ClusterRole',
  'ClusterRoleBinding',
  'CustomResourceDefinition',
]);
const WORKLOADS = new Set(['Deployment', 'StatefulSet', 'DaemonSet']);

export const id = (object: K8sObject) => `${object.kind}/${object.metadata.name}`;

export async function readYaml(file: string): Promise<unknown[]> {
  const documents = parseAllDocuments(await readFile(file, 'utf8'), { merge: true });
  return documents
    .map((document) => {
      if (document.errors.length > 0) throw new Error(`${file}: ${document.errors[0]?.message}`);
      return document.toJS() as unknown;
    })
    .filter((value) => value !== null);
}

/** The containers (init containers included) of a workload's pod template. */
export function containers(object: K8sObject): Array<{ name: string; image: string; [key: string]: unknown }> {
  if (!WORKLOADS.has(object.kind)) return [];
  const pod = (object.spec as { template: { spec: { containers?: unknown[]; initContainers?: unknown[] } } }).template
    .spec;
  return [...(pod.initContainers ?? []), ...(pod.containers ?? [])] as Array<{ name: string; image: string }>;
}

function splitImage(image: string): [string, string | undefined] {
  const at = image.lastIndexOf(':');
  return at > image.lastIndexOf('/') ? [image.slice(0, at), image.slice(at + 1)] : [image, undefined];
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
const named = (list: unknown[]) => list.every((item) => isObject(item) && typeof item.name === 'string');

/**
 * Kubernetes' strategic merge, as far as these patches need it: maps merge (a null value removes
 * the key), lists of named items merge by name, other lists are replaced.
 */
export function strategicMerge(base: unknown, patch: unknown): unknown {
  if (isObject(base) && isObject(patch)) {
    const merged: Record<string, unknown> = { ...base };
    for (const [key, value] of Object.entries(patch)) {
      if (value === null) delete merged[key];
      else merged[key] = key in base ? strategicMerge(base[key], value) : value;
    }
    return merged;
  }
  if (Array.isArray(base) && Array.isArray(patch) && named(base) && named(patch)) {
    const merged = [...(base as Array<Record<string, unknown>>)];
    for (const item of patch as Array<Record<string, unknown>>) {
      const index = merged.findIndex((existing) => existing.name === item.name);
      if (index < 0) merged.push(item);
      else merged[index] = strategicMerge(merged[index], item) as Record<string, unknown>;
    }
    return merged;
  }
  return patch;
}
