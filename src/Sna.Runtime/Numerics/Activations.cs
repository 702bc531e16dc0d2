using System.Numerics.Tensors;

namespace Sna.Runtime.Numerics;

/// <summary>MLP activation functions, element-wise, in place.</summary>
public static class Activations
{
    private const float Sqrt2OverPi = 0.7978845608028654f;

    /// <summary>GPT-2's <c>gelu_new</c>: 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))).</summary>
    /// <param name="x">activations [n], replaced by gelu(x)</param>
    /// <param name="tmp">scratch [n]</param>
    public static void GeluTanh(Span<float> x, Span<float> tmp)
    {
        TensorPrimitives.Multiply(x, x, tmp);                  // x²
        TensorPrimitives.Multiply(tmp, 0.044715f, tmp);
        TensorPrimitives.Add(tmp, 1f, tmp);                    // 1 + 0.044715x²
        TensorPrimitives.Multiply(tmp, x, tmp);                // x + 0.044715x³
        TensorPrimitives.Multiply(tmp, Sqrt2OverPi, tmp);
        TensorPrimitives.Tanh(tmp, tmp);
        TensorPrimitives.Add(tmp, 1f, tmp);
        TensorPrimitives.Multiply(tmp, x, x);
        TensorPrimitives.Multiply(x, 0.5f, x);
    }

    /// <summary>Exact GELU: 0.5·x·(1 + erf(x/√2)), erf evaluated in double.</summary>
    public static void GeluErf(Span<float> x)
    {
        for (int i = 0; i < x.Length; i++)
        {
            double v = x[i];
            x[i] = (float)(0.5 * v * (1.0 + Erf.Evaluate(v * 0.70710678118654752440)));
        }
    }

    /// <summary>SiLU (Llama's gate activation): x·σ(x).</summary>
    public static void Silu(Span<float> x, Span<float> tmp)
    {
        TensorPrimitives.Sigmoid(x, tmp);
        TensorPrimitives.Multiply(x, tmp, x);
    }
}

/// <summary>The error function in double precision (W. J. Cody's rational Chebyshev approximations, |rel err| &lt; 1e-15).</summary>
public static class Erf
{
    public static double Evaluate(double x)
    {
        double ax = Math.Abs(x);
        double r;
        if (ax <= 0.5)
        {
            double z = x * x;
            double num = (((1.85777706184603153e-1 * z + 3.16112374387056560e0) * z + 1.13864154151050156e2) * z + 3.77485237685302021e2) * z + 3.20937758913846947e3;
            double den = (((z + 2.36012909523441209e1) * z + 2.44024637934444173e2) * z + 1.28261652607737228e3) * z + 2.84423683343917062e3;
            return x * num / den;
        }
        if (ax <= 4.0)
        {
            double num = ((((((((2.15311535474403846e-8 * ax + 5.64188496988670089e-1) * ax + 8.88314979438837594e0) * ax + 6.61191906371416295e1) * ax + 2.98635138197400131e2) * ax + 8.81952221241769090e2) * ax + 1.71204761263407058e3) * ax + 2.05107837782607147e3) * ax + 1.23033935479799725e3);
            double den = (((((((ax + 1.57449261107098347e1) * ax + 1.17693950891312499e2) * ax + 5.37181101862009858e2) * ax + 1.62138957456669019e3) * ax + 3.29079923573345963e3) * ax + 4.36261909014324716e3) * ax + 3.43936767414372164e3) * ax + 1.23033935480374942e3;
            r = 1.0 - Math.Exp(-ax * ax) * num / den;
        }
        else if (ax < 27.0)
        {
            double z = 1.0 / (ax * ax);
            double num = ((((1.63153871373020978e-2 * z + 3.05326634961232344e-1) * z + 3.60344899949804439e-1) * z + 1.25781726111229246e-1) * z + 1.60837851487422766e-2) * z + 6.58749161529837803e-4;
            double den = ((((z + 2.56852019228982242e0) * z + 1.87295284992346725e0) * z + 5.27905102951428412e-1) * z + 6.05183413124413191e-2) * z + 2.33520497626869185e-3;
            double p = z * num / den;
            p = (0.56418958354775628695 - p) / ax; // 1/sqrt(pi) - ...
            r = 1.0 - Math.Exp(-ax * ax) * p;
        }
        else r = 1.0;
        return x < 0 ? -r : r;
    }
}
