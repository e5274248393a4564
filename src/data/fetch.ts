// Loading datasets from URLs (browsers, or Node >= 18 with global fetch): the same parsers as the
// file loaders, fed with fetched bytes. Errors name the URL and the HTTP status.

import { ImageDataset } from './dataset.js';
import { mnistFromIdx, fashionMnistFromIdx, cifar10FromArchive, cifar10FromBins, svhnFromMat } from './readers.js';

/** Fetch a URL as bytes, with an error that names the URL when the request fails. */
export async function fetchBytes(url: string | URL, init?: RequestInit): Promise<Uint8Array> {
  let res: Response;
  try {
    res = await fetch(url, init);
  } catch (e) {
    throw new Error(`${String(url)}: request failed (${(e as Error).message})`);
  }
  if (!res.ok) throw new Error(`${String(url)}: HTTP ${res.status} ${res.statusText}`);
  return new Uint8Array(await res.arrayBuffer());
}

function join(base: string, file: string): string {
  return base.endsWith('/') ? base + file : `${base}/${file}`;
}

/**
 * MNIST or Fashion-MNIST from a URL folder holding the idx files (raw or `.gz`), e.g. files served
 * from a torchvision `MNIST/raw` folder: `await mnistFromURL('/data/MNIST/raw', { train: true })`.
 */
export async function mnistFromURL(baseUrl: string, opts: { train?: boolean; gzip?: boolean; fashion?: boolean } = {}): Promise<ImageDataset> {
  const prefix = opts.train ?? true ? 'train' : 't10k';
  const ext = opts.gzip ? '.gz' : '';
  const images = join(baseUrl, `${prefix}-images-idx3-ubyte${ext}`);
  const labels = join(baseUrl, `${prefix}-labels-idx1-ubyte${ext}`);
  const [ib, lb] = await Promise.all([fetchBytes(images), fetchBytes(labels)]);
  return (opts.fashion ? fashionMnistFromIdx : mnistFromIdx)(ib, lb, { images, labels });
}

/** CIFAR-10 from the URL of `cifar-10-binary.tar.gz`, or of a folder of `.bin` batches (`files` lists them). */
export async function cifar10FromURL(url: string, opts: { train?: boolean; files?: string[] } = {}): Promise<ImageDataset> {
  if (opts.files) {
    const files = await Promise.all(opts.files.map(async (f) => ({ name: join(url, f), bytes: await fetchBytes(join(url, f)) })));
    return cifar10FromBins(files);
  }
  return cifar10FromArchive(await fetchBytes(url), url, { train: opts.train ?? true });
}

/** SVHN from the URL of `train_32x32.mat` / `test_32x32.mat`. */
export async function svhnFromURL(url: string): Promise<ImageDataset> {
  return svhnFromMat(await fetchBytes(url), url);
}
