/* kern_cpu: the CPU reference kernels of kern.h. */
#include <math.h>
#include <string.h>

#include <gsl/gsl_blas.h>
#include <gsl/gsl_matrix_float.h>

#include "kern.h"

/*
 * Keys per block of the online softmax: the scores of one block sit on the
 * stack (256 bytes), so attention needs no buffer that grows with length.
 */
#define ATTN_BLOCK 64

/*
 * Dot product with eight partial sums: one running sum is a chain of
 * dependent additions (about four cycles each); eight independent ones let
 * the compiler keep them in two vector registers without -ffast-math.
 */
static float
dot(const float *a, const float *b, size_t n)
{
	float s[8] = { 0 };
	size_t i, r;

	for (i = 0; i + 8 <= n; i += 8)
		for (r = 0; r < 8; r++)
			s[r] += a[i + r] * b[i + r];
	for (r = 0; i < n; i++, r++)
		s[r] += a[i] * b[i];
	return ((s[0] + s[4]) + (s[1] + s[5])) + ((s[2] + s[6]) + (s[3] + s[7]));
}

/*
 * y += a x over n elements, in groups of eight for the same reason: at -O2
 * GCC vectorizes a fixed-length group, not a loop that needs a remainder.
 */
static void
axpy(float a, const float *restrict x, float *restrict y, size_t n)
{
	size_t i, r;

	for (i = 0; i + 8 <= n; i += 8)
		for (r = 0; r < 8; r++)
			y[i + r] += a * x[i + r];
	for (; i < n; i++)
		y[i] += a * x[i];
}

void
kcpu_gemm(int ta, int tb, size_t m, size_t n, size_t k, float alpha,
    const float *A, const float *B, float beta, float *C)
{
	size_t i;

	if (m == 0 || n == 0)
		return;
	/* GSL's views refuse empty matrices: an empty sum leaves beta C. */
	if (k == 0) {
		for (i = 0; i < m * n; i++)
			C[i] = beta == 0.0f ? 0.0f : beta * C[i];
		return;
	}
	{
		/* GSL's const views can only be initialised, not assigned. */
		gsl_matrix_float_const_view av =
		    gsl_matrix_float_const_view_array(A, ta ? k : m,
		    ta ? m : k);
		gsl_matrix_float_const_view bv =
		    gsl_matrix_float_const_view_array(B, tb ? n : k,
		    tb ? k : n);
		gsl_matrix_float_view cv = gsl_matrix_float_view_array(C, m, n);

		/* The shapes agree by construction: sgemm has nothing to
		 * report. */
		gsl_blas_sgemm(ta ? CblasTrans : CblasNoTrans,
		    tb ? CblasTrans : CblasNoTrans, alpha, &av.matrix,
		    &bv.matrix, beta, &cv.matrix);
	}
}

void
kcpu_rmsnorm_fwd(size_t T, size_t d, const float *x, const float *w,
    float eps, float *y, float *rstd)
{
	const float *xr;
	float *yr;
	double ss;
	float r;
	size_t t, i;

	for (t = 0; t < T; t++) {
		xr = x + t * d;
		yr = y + t * d;
		ss = 0.0;
		for (i = 0; i < d; i++)
			ss += (double)xr[i] * xr[i];
		r = (float)(1.0 / sqrt(ss / (double)d + eps));
		rstd[t] = r;
		for (i = 0; i < d; i++)
			yr[i] = w[i] * (xr[i] * r);
	}
}

/*
 * y_i = w_i x_i r with r = (sum_k x_k^2 / d + eps)^(-1/2), so
 * dr/dx_k = -r^3 x_k / d and
 *   dx_k = r (w_k dy_k - x_k r^2 / d * sum_i w_i dy_i x_i),
 *   dw_i = sum over rows of dy_i x_i r.
 */
void
kcpu_rmsnorm_bwd(size_t T, size_t d, const float *x, const float *w,
    const float *rstd, const float *dy, float *dx, float *dw)
{
	const float *xr, *dyr;
	float *dxr;
	double sum;
	float r, c;
	size_t t, i;

	for (t = 0; t < T; t++) {
		xr = x + t * d;
		dyr = dy + t * d;
		dxr = dx + t * d;
		r = rstd[t];
		sum = 0.0;
		for (i = 0; i < d; i++)
			sum += (double)w[i] * dyr[i] * xr[i];
		c = (float)(sum * r * r / (double)d);
		for (i = 0; i < d; i++) {
			dxr[i] = r * (w[i] * dyr[i] - xr[i] * c);
			dw[i] += dyr[i] * xr[i] * r;
		}
	}
}

/*
 * Rotate-half: element i < hd/2 pairs with i + hd/2 and turns by
 * pos * theta^(-2i/hd); sign -1 turns back (the transpose of a rotation is
 * its inverse).  The angle is computed in double: at position 10^5 a float
 * angle would be off by about 0.004 rad.
 */
static void
rope(size_t T, size_t nh, size_t hd, const int32_t *pos, double theta,
    float *x, double sign)
{
	size_t half = hd / 2, t, i, h;
	double ang;
	float c, s, x1, x2;
	float *xr;

	for (t = 0; t < T; t++) {
		xr = x + t * nh * hd;
		for (i = 0; i < half; i++) {
			ang = pos[t] * pow(theta, -2.0 * (double)i / (double)hd);
			c = (float)cos(ang);
			s = (float)(sign * sin(ang));
			for (h = 0; h < nh; h++) {
				x1 = xr[h * hd + i];
				x2 = xr[h * hd + half + i];
				xr[h * hd + i] = x1 * c - x2 * s;
				xr[h * hd + half + i] = x2 * c + x1 * s;
			}
		}
	}
}

void
kcpu_rope_fwd(size_t T, size_t nh, size_t hd, const int32_t *pos,
    double theta, float *x)
{
	rope(T, nh, hd, pos, theta, x, 1.0);
}

void
kcpu_rope_bwd(size_t T, size_t nh, size_t hd, const int32_t *pos,
    double theta, float *dx)
{
	rope(T, nh, hd, pos, theta, dx, -1.0);
}

void
kcpu_swiglu_fwd(size_t n, const float *g, const float *u, float *h)
{
	size_t i;

	/* expf(-g) overflows to inf for g < -88: the sigmoid is then 0, not
	 * NaN. */
	for (i = 0; i < n; i++)
		h[i] = g[i] / (1.0f + expf(-g[i])) * u[i];
}

/* d silu(g)/dg = sig(g) (1 + g (1 - sig(g))). */
void
kcpu_swiglu_bwd(size_t n, const float *g, const float *u, const float *dh,
    float *dg, float *du)
{
	float sg;
	size_t i;

	for (i = 0; i < n; i++) {
		sg = 1.0f / (1.0f + expf(-g[i]));
		du[i] = dh[i] * g[i] * sg;
		dg[i] = dh[i] * u[i] * sg * (1.0f + g[i] * (1.0f - sg));
	}
}

/*
 * FlashAttention's forward for one query row at a time: keys in blocks,
 * a running maximum m and sum l of exp(score - m), and the output row as
 * the accumulator, rescaled by exp(m_old - m_new) whenever m grows.
 */
void
kcpu_attn_fwd(size_t nseq, const int32_t *cu_q, const int32_t *cu_k,
    const int32_t *qpos, size_t nh, size_t nkv, size_t hd,
    const float *q, const float *k, const float *v, float *o, float *lse)
{
	float sc[ATTN_BLOCK];
	const float scale = (float)(1.0 / sqrt((double)hd));
	const size_t group = nh / nkv;
	const float *qr;
	float *orow;
	float m, l, bmax, mnew, c, p;
	size_t s, j, h, kvh, nk, b0, bn, i, key;

	for (s = 0; s < nseq; s++) {
		for (j = (size_t)cu_q[s]; j < (size_t)cu_q[s + 1]; j++) {
			nk = (size_t)qpos[j] + 1;
			for (h = 0; h < nh; h++) {
				qr = q + (j * nh + h) * hd;
				orow = o + (j * nh + h) * hd;
				kvh = h / group;
				memset(orow, 0, hd * sizeof *orow);
				m = -INFINITY;
				l = 0.0f;
				for (b0 = 0; b0 < nk; b0 += bn) {
					bn = nk - b0 < ATTN_BLOCK ?
					    nk - b0 : ATTN_BLOCK;
					bmax = -INFINITY;
					for (i = 0; i < bn; i++) {
						key = (size_t)cu_k[s] + b0 + i;
						sc[i] = scale * dot(qr,
						    k + (key * nkv + kvh) * hd, hd);
						if (sc[i] > bmax)
							bmax = sc[i];
					}
					if (bmax > m) {
						mnew = bmax;
						/* exp(-inf) = 0 on the first block. */
						c = expf(m - mnew);
						l *= c;
						for (i = 0; i < hd; i++)
							orow[i] *= c;
						m = mnew;
					}
					for (i = 0; i < bn; i++) {
						key = (size_t)cu_k[s] + b0 + i;
						p = expf(sc[i] - m);
						l += p;
						axpy(p,
						    v + (key * nkv + kvh) * hd,
						    orow, hd);
					}
				}
				c = 1.0f / l;
				for (i = 0; i < hd; i++)
					orow[i] *= c;
				lse[j * nh + h] = m + logf(l);
			}
		}
	}
}

/*
 * FlashAttention-2's backward, one query row at a time: the probabilities
 * are recomputed from lse, D = dout . o replaces the row sum of dP * P, and
 * ds = p (dout . v - D) is the score gradient.
 */
void
kcpu_attn_bwd(size_t nseq, const int32_t *cu_q, const int32_t *cu_k,
    const int32_t *qpos, size_t nh, size_t nkv, size_t hd,
    const float *q, const float *k, const float *v,
    const float *o, const float *lse, const float *dout,
    float *dq, float *dk, float *dv)
{
	const float scale = (float)(1.0 / sqrt((double)hd));
	const size_t group = nh / nkv;
	const float *qr, *dor, *kr, *vr;
	float *dqr;
	float L, D, p, ds;
	size_t s, j, h, kvh, nk, i, kv;

	for (s = 0; s < nseq; s++) {
		for (j = (size_t)cu_q[s]; j < (size_t)cu_q[s + 1]; j++) {
			nk = (size_t)qpos[j] + 1;
			for (h = 0; h < nh; h++) {
				qr = q + (j * nh + h) * hd;
				dor = dout + (j * nh + h) * hd;
				dqr = dq + (j * nh + h) * hd;
				L = lse[j * nh + h];
				D = dot(dor, o + (j * nh + h) * hd, hd);
				kvh = h / group;
				memset(dqr, 0, hd * sizeof *dqr);
				for (i = 0; i < nk; i++) {
					kv = (((size_t)cu_k[s] + i) * nkv + kvh) *
					    hd;
					kr = k + kv;
					vr = v + kv;
					p = expf(scale * dot(qr, kr, hd) - L);
					axpy(p, dor, dv + kv, hd);
					ds = scale * p * (dot(dor, vr, hd) - D);
					axpy(ds, kr, dqr, hd);
					axpy(ds, qr, dk + kv, hd);
				}
			}
		}
	}
}

/*
 * loss_t = lse(z_t) - z_t[target], lse with the row maximum taken out
 * first so that no exp overflows.  The target logit is read before its
 * row of dlogits is written, which lets dlogits be logits.
 */
double
kcpu_xent(size_t T, size_t V, const float *logits, const int32_t *target,
    float scale, float *dlogits)
{
	const float *zr;
	float *dr;
	double total = 0.0, sum, l, zt;
	float mx;
	size_t t, c, y;

	for (t = 0; t < T; t++) {
		zr = logits + t * V;
		dr = dlogits + t * V;
		if (target[t] < 0) {
			memset(dr, 0, V * sizeof *dr);
			continue;
		}
		y = (size_t)target[t];
		mx = zr[0];
		for (c = 1; c < V; c++)
			if (zr[c] > mx)
				mx = zr[c];
		sum = 0.0;
		for (c = 0; c < V; c++)
			sum += exp((double)zr[c] - mx);
		l = mx + log(sum);
		zt = zr[y];
		total += l - zt;
		for (c = 0; c < V; c++)
			dr[c] = (float)((exp((double)zr[c] - l) -
			    (c == y ? 1.0 : 0.0)) * scale);
	}
	return total;
}

/*
 * PyTorch's AdamW: p *= 1 - lr wd, then the Adam step with bias-corrected
 * moments, lr mhat / (sqrt(vhat) + eps).  Each element in double, stored
 * in float.
 */
void
kcpu_adamw(size_t n, float *p, const float *g, float *m, float *v,
    float lr, float beta1, float beta2, float eps, float wd, long t)
{
	const double bc1 = 1.0 - pow(beta1, (double)t);
	const double bc2 = 1.0 - pow(beta2, (double)t);
	double pi, mi, vi;
	size_t i;

	for (i = 0; i < n; i++) {
		pi = (double)p[i] * (1.0 - (double)lr * wd);
		mi = (double)beta1 * m[i] + (1.0 - beta1) * g[i];
		vi = (double)beta2 * v[i] + (1.0 - beta2) * (double)g[i] * g[i];
		m[i] = (float)mi;
		v[i] = (float)vi;
		/* From the stored moments, as the next step will see them. */
		p[i] = (float)(pi - lr * (m[i] / bc1) / (sqrt(v[i] / bc2) +
		    eps));
	}
}
