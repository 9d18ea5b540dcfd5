// MNIST data, offline: IDX files, PNG files and fastai's MNIST_SAMPLE tree.
export * from './idx';
export * from './mnist';
export * from './png';
export * from './mnistSample';
export * from './speed';
