// A self-signed certificate for localhost/127.0.0.1 (valid for 100 years) and its key, made for these tests
// only with: openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 36500
//   -subj /CN=localhost -addext subjectAltName=DNS:localhost,IP:127.0.0.1
export const TEST_CERT = `-----BEGIN CERTIFICATE-----
MIIBmzCCAUGgAwIBAgIUJ1U4hEeNhOdMfTyi2WpORLvKtaEwCgYIKoZIzj0EAwIw
FDESMBAGA1UEAwwJbG9jYWxob3N0MCAXDTI2MTEyMzE4MTg0MFoYDzIxMjYxMDMw
MTgxODQwWjAUMRIwEAYDVQQDDAlsb2NhbGhvc3QwWTATBgcqhkjOPQIBBggqhkjO
PQMBBwNCAAQOMN2wPVKuqcAuVsC7RWtM/ALPxNClfOWbt1NT5dk5At+0LBI/DI6U
fiXJfP9kgupw1fo32JqozxjXm3QfeHU6o28wbTAdBgNVHQ4EFgQUl64Ix1vZh+UJ
SPcT0sVNaoBYsYYwHwYDVR0jBBgwFoAUl64Ix1vZh+UJSPcT0sVNaoBYsYYwDwYD
VR0TAQH/BAUwAwEB/zAaBgNVHREEEzARgglsb2NhbGhvc3SHBH8AAAEwCgYIKoZI
zj0EAwIDSAAwRQIgU2qkX8NRe87bbaCfV83umBHvV/5I984lVmJCTbdNX60CIQDC
mtJSgk5nOvTC3NINKikrgWbnK8lE/t+5U6g+/HrKHw==
-----END CERTIFICATE-----`;

export const TEST_KEY = `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgdV9gVLc2kE8AB0DD
7M5ZpD8LwnfZg63VIRPPhl9HwlWhRANCAAQOMN2wPVKuqcAuVsC7RWtM/ALPxNCl
fOWbt1NT5dk5At+0LBI/DI6UfiXJfP9kgupw1fo32JqozxjXm3QfeHU6
-----END PRIVATE KEY-----`;
