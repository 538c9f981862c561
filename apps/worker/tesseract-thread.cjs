'use strict';
// tesseract.js's own Node worker thread, plus one message before each recognize result: the
// thread's external memory, which holds the WebAssembly heap. That heap grows with the largest
// page seen and never shrinks, so the pool reads it to decide when to replace the thread.
const { parentPort } = require('node:worker_threads');

const post = parentPort.postMessage.bind(parentPort);
parentPort.postMessage = (message) => {
  if (message && message.action === 'recognize' && message.status === 'resolve') {
    post({ pagefleetHeapBytes: process.memoryUsage().external });
  }
  post(message);
};

require('tesseract.js/src/worker-script/node/index.js');
