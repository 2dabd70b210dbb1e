"""Programs of one shape at any size, to see how the compiler scales.

Each shape stresses a different way a program grows: long chains of
bindings, deep nesting, long sequences, many functions, wide tuples.
`SHAPES[name](n)` is the text of a program of size n, with its value.
"""

from __future__ import annotations


def let_chain(n: int) -> tuple[str, str]:
    """let x0 = 1 in let x1 = x0 + 1 in ... x(n-1)"""
    lines = ["let x0 = 1 in", *(f"let x{i} = x{i - 1} + 1 in" for i in range(1, n)), f"x{n - 1}"]
    return "\n".join(lines), str(n)


def nested_tuples(n: int) -> tuple[str, str]:
    """{{{...{1}...}}}, n deep"""
    text = "{" * n + "1" + "}" * n
    return text, text


def sequence(n: int) -> tuple[str, str]:
    """0; 1; 2; ...; n-1"""
    return "; ".join(str(i) for i in range(n)), str(n - 1)


def curried_lambda(n: int) -> tuple[str, str]:
    """(\\a0 -> \\a1 -> ... -> a0 + a(n-1)) 0 1 ... n-1: n nested lambdas, applied"""
    head = "".join(f"\\a{i} -> " for i in range(n))
    return f"({head}a0 + a{n - 1}) " + " ".join(str(i) for i in range(n)), str(n - 1)


def nested_lambdas(n: int) -> tuple[str, str]:
    """(\\x0 -> (\\x1 -> ... 1)): n lambdas, each the body of the one outside it"""
    return "".join(f"(\\x{i} -> " for i in range(n)) + "1" + ")" * n, "lam {}"


def else_if_chain(n: int) -> tuple[str, str]:
    """if x == 0 then 0 else if x == 1 then 2 else ... else -1, with x = n - 1"""
    arms = "\n".join(f"else if x == {i} then {2 * i}" for i in range(1, n))
    return f"let x = {n - 1} in\nif x == 0 then 0\n{arms}\nelse -1", str(2 * (n - 1))


def many_functions(n: int) -> tuple[str, str]:
    """let f0 = \\x -> x + 0 in ... f0 0 + f1 1 + ...: n small functions, each called once"""
    definitions = "\n".join(f"let f{i} = \\x -> x + {i} in" for i in range(n))
    return definitions + "\n" + " + ".join(f"f{i} {i}" for i in range(n)), str(n * (n - 1))


def wide_tuple(n: int) -> tuple[str, str]:
    """{0, 1, ..., n-1}"""
    text = "{" + ", ".join(str(i) for i in range(n)) + "}"
    return text, text


def tuple_projections(n: int) -> tuple[str, str]:
    """let t = {0, ..., n-1} in t.0 + t.1 + ... + t.(n-1)"""
    return f"let t = {wide_tuple(n)[0]} in\n" + " + ".join(f"t.{i}" for i in range(n)), str(n * (n - 1) // 2)


SHAPES = {
    "let chain": let_chain,
    "nested tuples": nested_tuples,
    "sequence": sequence,
    "curried lambda": curried_lambda,
    "nested lambdas": nested_lambdas,
    "else-if chain": else_if_chain,
    "many functions": many_functions,
    "wide tuple": wide_tuple,
    "tuple projections": tuple_projections,
}
