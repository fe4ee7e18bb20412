// The seed's k6 load test, adapted to the gateway's routes (/v1/...). Kept for teams that run
// k6 elsewhere; this repository runs the Locust equivalent (locustfile.py) instead.
//   k6 run -e BASE_URL=https://api.ecommerce-example.com -e USER_TOKEN=... -e USER_ID=... k6-load-test.js
import http from 'k6/http';
import { sleep, check } from 'k6';

export const options = {
  stages: [
    { duration: '5m', target: 100 }, // ramp up to 100 users
    { duration: '10m', target: 100 }, // stay at 100 users
    { duration: '5m', target: 0 }, // ramp down
  ],
  thresholds: {
    http_req_duration: ['p(95)<500'], // 95 % of requests within 500 ms
    'http_req_duration{name:get-products}': ['p(95)<400'],
    'http_req_duration{name:get-cart}': ['p(95)<300'],
    http_req_failed: ['rate<0.01'],
  },
};

const BASE_URL = __ENV.BASE_URL || 'http://localhost:8080';
const AUTH = { headers: { Authorization: `Bearer ${__ENV.USER_TOKEN}` } };

export default function () {
  const products = http.get(`${BASE_URL}/v1/products?pageSize=20`, {
    tags: { name: 'get-products' },
  });
  check(products, {
    'products status 200': (r) => r.status === 200,
    'products response time < 500ms': (r) => r.timings.duration < 500,
  });

  const cart = http.get(`${BASE_URL}/v1/carts/${__ENV.USER_ID}`, {
    ...AUTH,
    tags: { name: 'get-cart' },
  });
  check(cart, {
    'cart status 200': (r) => r.status === 200,
    'cart response time < 300ms': (r) => r.timings.duration < 300,
  });

  const search = http.get(`${BASE_URL}/v1/search?query=shirt`, { tags: { name: 'search' } });
  check(search, { 'search status 200': (r) => r.status === 200 });

  sleep(1);
}
