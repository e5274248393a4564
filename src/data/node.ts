// Node entry point for datasets: the browser-safe readers plus loaders that find files on disk.
export * from './index.js';
export {
  loadMNIST,
  loadFashionMNIST,
  loadCIFAR10,
  loadCIFAR100,
  loadSVHN,
  DEBIAN_FASHION_MNIST_DIR,
  type SplitOptions,
  type Cifar100LoadOptions,
  type SvhnLoadOptions,
} from './node-files.js';
