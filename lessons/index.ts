// The chapter's lessons, section by section. Notebooks import the compiled copy: `../dist/lessons`.
export * as pixels from './01_pixels';
export * as pixelSimilarity from './02_pixel_similarity';
export * as sgd from './03_sgd';
export * as mnistLoss from './04_mnist_loss';
export * as learner from './05_learner';
export * as neuralNet from './06_neural_net';
export * as further from './further';
export * as questionnaire from './questionnaire';
