"""Hand-written CODAL-Bench answers of two sample models to the sample bench items, graded
by the sample judge against the gpt-4-turbo references (1-10). Keyed by the item's index in
sample_instructions_c.BENCH. One grade is left unreadable on purpose, as judges do."""

JUDGE = "gpt-3.5-turbo"
REFERENCE = "gpt-4-turbo"

# index -> model -> (answer, rating or None, rationale or the unreadable judge output)
GRADED = {
    0: {
        "codellama-7b-instruct": (
            "```python\nimport re\n\ndef is_palindrome(s):\n    s = re.sub(r'[^a-z0-9]', '', s.lower())\n    return s == s[::-1]\n```",
            4,
            "Correct result, but it imports `re` although the instruction forbids imports; the reference meets that constraint.",
        ),
        "deepseek-coder-6.7b-instruct": (
            "```python\ndef is_palindrome(s):\n    kept = [c.lower() for c in s if c.isalnum()]\n    return kept == kept[::-1]\n```\nNo imports are used.",
            9,
            "Ignores case and non-alphanumerics with no imports, exactly as asked; as faithful as the reference.",
        ),
    },
    1: {
        "codellama-7b-instruct": (
            "Here is a function that removes duplicates:\n```javascript\nfunction unique(arr) {\n  return arr.filter((v, i) => arr.indexOf(v) === i);\n}\n```\nIt keeps the first occurrence of each value.",
            5,
            "The code is right and keeps first-seen order, but the answer adds prose around the block although the instruction asked for a single code block and nothing else.",
        ),
        "deepseek-coder-6.7b-instruct": (
            "```javascript\nconst unique = (values) => [...new Set(values)];\n```",
            9,
            "One code block, nothing else, first-seen order kept by the Set: matches the instruction as well as the reference.",
        ),
    },
    2: {
        "codellama-7b-instruct": (
            "A generator is a function with `yield`. Example:\n```python\ndef squares(n):\n    for i in range(n):\n        yield i * i\n```",
            4,
            "Defines a generator but never shows the memory saving the instruction asks for, and does not explain how values are produced lazily; the reference does both.",
        ),
        "deepseek-coder-6.7b-instruct": (
            "A generator computes its values lazily: each `next()` resumes the function until its next `yield`, so only one value exists at a time.\n\n```python\nbig = (line for line in open('log.txt'))   # reads one line at a time\ncount = sum(1 for line in big if 'ERROR' in line)\n```\nA list comprehension would load every line into memory before counting.",
            8,
            "Explains lazy evaluation clearly and shows a realistic memory saving; a little less thorough than the reference on how state is kept between calls.",
        ),
    },
    3: {
        "codellama-7b-instruct": (
            "It groups the staff by department and shows the average salary for departments with more than 5 people.",
            6,
            "Correct in outline, but it does not go step by step (FROM, GROUP BY, HAVING, SELECT) as the reference does, nor say when HAVING is applied.",
        ),
        "deepseek-coder-6.7b-instruct": (
            "1. `FROM staff` reads every row.\n2. `GROUP BY dept` forms one group per department.\n3. `HAVING COUNT(*) > 5` keeps only groups with more than five rows; it filters groups, not rows, which is why it is not a WHERE.\n4. `SELECT dept, AVG(salary)` returns each remaining department with its mean salary.",
            9,
            "A clear step-by-step account in execution order, including why HAVING rather than WHERE; on a par with the reference.",
        ),
    },
    4: {
        "codellama-7b-instruct": (
            "```python\ndef k_largest(nums, k):\n    return sorted(nums, reverse=True)[:k]\n```",
            5,
            "Correct but O(n log n) by sorting everything; the reference keeps a heap of size k for O(n log k), which is what 'efficiently' asks for.",
        ),
        "deepseek-coder-6.7b-instruct": (
            "```python\nimport heapq\n\ndef k_largest(nums, k):\n    return heapq.nlargest(k, nums)  # O(n log k)\n```",
            9,
            "Uses a bounded heap through heapq.nlargest, O(n log k) time and O(k) memory, as efficient as the reference.",
        ),
    },
    5: {
        "codellama-7b-instruct": (
            "```java\nstatic boolean hasDuplicate(int[] a) {\n    for (int i = 0; i < a.length; i++)\n        for (int j = i + 1; j < a.length; j++)\n            if (a[i] == a[j]) return true;\n    return false;\n}\n```",
            2,
            "Quadratic, which the instruction rules out explicitly; the reference uses a HashSet for linear expected time.",
        ),
        "deepseek-coder-6.7b-instruct": (
            "```java\nstatic boolean hasDuplicate(int[] a) {\n    int[] sorted = a.clone();\n    Arrays.sort(sorted);\n    for (int i = 1; i < sorted.length; i++)\n        if (sorted[i] == sorted[i - 1]) return true;\n    return false;\n}\n```",
            7,
            "O(n log n) by sorting a copy: better than quadratic and leaves the input untouched, though the reference's HashSet is linear on average.",
        ),
    },
    6: {
        "codellama-7b-instruct": (
            "```javascript\nconst result = items.filter(x => x.a && !x.d).map(x => ({ n: x.n, t: x.p * x.q }));\n```",
            3,
            "Only re-spaces the line; the cryptic names a, d, n, t, p and q remain, so it is hardly more readable. The reference names every field.",
        ),
        "deepseek-coder-6.7b-instruct": (
            "```javascript\nconst activeLines = orders\n  .filter((order) => order.active && !order.deleted)\n  .map((order) => ({\n    name: order.name,\n    total: order.price * order.quantity,\n  }));\n```",
            8,
            "Meaningful names and one step per line make the intent clear; it assumes what the abbreviations stand for without saying so, which the reference does.",
        ),
    },
    7: {
        "codellama-7b-instruct": (
            "```c\nvoid rev(char *s) { int n = strlen(s); for (int i = 0; i < n / 2; i++) { char t = s[i]; s[i] = s[n - 1 - i]; s[n - 1 - i] = t; } }\n```",
            None,
            "The function works. Readability: 4 out of 5 for the loop, but the single line hurts, so overall somewhere between a 4 and a 6.",
        ),
        "deepseek-coder-6.7b-instruct": (
            "```c\n/* Reverses a null-terminated string in place. */\nvoid reverse(char *text) {\n    char *left = text;\n    char *right = text + strlen(text);\n    while (left < right--) {\n        char kept = *left;\n        *left++ = *right;\n        *right = kept;\n    }\n}\n```",
            7,
            "Clear names and a comment; the post-decrement inside the loop condition is clever rather than obvious, where the reference spells the two indices out.",
        ),
    },
    8: {
        "codellama-7b-instruct": (
            '```go\nfunc ReadLines(r io.Reader) []string {\n    data, _ := ioutil.ReadAll(r)\n    return strings.Split(string(data), "\\n")\n}\n```',
            3,
            "Ignores the error, uses the deprecated ioutil package and reads everything at once instead of a bufio.Scanner; not idiomatic Go, unlike the reference.",
        ),
        "deepseek-coder-6.7b-instruct": (
            "```go\nfunc ReadLines(r io.Reader) ([]string, error) {\n    var lines []string\n    scanner := bufio.NewScanner(r)\n    for scanner.Scan() {\n        lines = append(lines, scanner.Text())\n    }\n    return lines, scanner.Err()\n}\n```",
            9,
            "bufio.Scanner, the error returned as the last value, idiomatic naming: as idiomatic as the reference.",
        ),
    },
    9: {
        "codellama-7b-instruct": (
            "```python\nclass Point:\n    def __init__(self, x, y):\n        self.x = x\n        self.y = y\n\n    def distance(self, other):\n        return ((self.x - other.x) ** 2 + (self.y - other.y) ** 2) ** 0.5\n```",
            4,
            "A plain class, not the dataclass the instruction asks for, and no type hints; the reference uses @dataclass(frozen=True) and math.hypot.",
        ),
        "deepseek-coder-6.7b-instruct": (
            '```python\nfrom dataclasses import dataclass\nimport math\n\n@dataclass(frozen=True)\nclass Point:\n    x: float\n    y: float\n\n    def distance_to(self, other: "Point") -> float:\n        return math.hypot(self.x - other.x, self.y - other.y)\n```',
            10,
            "Idiomatic throughout: a frozen dataclass with type hints and math.hypot, matching the reference.",
        ),
    },
}
