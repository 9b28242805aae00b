"""Every backticked minigan name in the course (docs/*.md, README.md) still exists in the package.

A page cites the code in backticks: `GANTrainer.discriminator_step`, `penalties.r1`,
`Module.frozen()`, `penalty="r1"`, `tests/test_batchnorm.py`. When the code renames or removes
one of these, this test fails and names the page, the line, the token and what did not resolve.
Most backticks hold something else (math, shell commands, a snippet's variables, the Keras or
PyTorch names a page compares to): the rules below tell them apart, and skip them.

The rules, for each inline code span outside the fenced blocks (tests/test_docs.py runs those):

1. Paths. A token with a "/", or a bare name ending in .py/.md/.sh/.js, must be a file or folder
   of the repository: from the root, from the page's folder or from minigan/ (`tests/...`,
   `images/lab_ring.gif`, `functions/convolution.py`), or, for a bare name (`trace.py`,
   `static/`), one of that name anywhere in it. Another file (`checkpoint.npz`, `runs/...`,
   `<name>.runs.jsonl`) is a run's output, not the repository's, and is skipped.
2. Commands (`python -m minigan.trace --data ring`, `python examples/gan_2d.py --help`): the
   minigan module after -m must exist, and so must each repository path. Flags are not checked.
3. A keyword on its own (`penalty="r1"`, `d_update=`, no space around the "="): some minigan
   function or class takes it, and a string value is one minigan's code spells (so
   `penalty="r11"` fails: no code knows "r11").
4. Everything else is parsed as Python (with a trailing ":" or a leading "." allowed); what does
   not parse (math, prose, an error message) is skipped. In what parses:
   - a dotted name starting with `minigan` resolves, module by module, attribute by attribute
     (`minigan.gan.schedule.LinearDecay`); so does one starting with a minigan module's short
     name (`penalties.r1`), class or function (`GANTrainer.discriminator_step`), or an alias a
     page's code imports (`F.tanh`: `from minigan import functions as F`). A class's attributes
     include what its methods set on self (`self.g_average = ...`), read from the source with
     `ast`. A module's short name is also a variable's on the pages (`trainer.load_checkpoint`
     is a GANTrainer's), so after a module's name an attribute of any minigan class will do;
   - a dotted name starting with anything else (a variable: `D.frozen()`, `z.grad`,
     `self.saved`) needs each later part to be an attribute, method or name of minigan, of the
     page's code blocks or of Python's own types (`grads.pop`); a name imported from another
     library (`np.`, `torch.`) is skipped;
   - a single name (the whole token, a function called, the name assigned in `name = value`, a
     decorator) is minigan's when it is CamelCase or has an underscore (`GANTrainer`,
     `check_second_order`, `_unit_scaled`), and then must be defined: by minigan (a module,
     class, function, constant, attribute, parameter, local or a string such as a history
     column), by a file of tests/, examples/ or benchmarks/ (`helper_test_op`), or by the
     page's own code blocks. A lower-case word without an underscore (`x`, `grad`, `frozen`)
     can't be told from English and math: it is checked only inside a dotted name;
   - a trailing call is stripped (`Module.frozen()`); a call's keywords are the called
     function's or class's parameters when it resolves (`GANTrainer(..., g_average=0.999)`),
     else some minigan function's, and a string value is one minigan spells; a string
     subscript (`history["d_g_z"]`) is a string minigan spells.
5. A span that is the text of a link to a .py file (`[`Conv2d`](../minigan/nn/conv_layers.py)`)
   names something that file defines (at its top, or in one of its classes).

NOT_MINIGAN is the short list of other code's names that the rules take for minigan's.
"""
import ast
import builtins
import functools
import glob
import importlib
import importlib.util
import inspect
import keyword
import os
import re

import pytest

import minigan

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGE = os.path.join(ROOT, "minigan")
PAGES = sorted(glob.glob(os.path.join(ROOT, "docs", "*.md"))) + [os.path.join(ROOT, "README.md")]

# Names the pages cite from other code, that the rules would otherwise take for minigan's: the
# Keras GAN tutorials, which pages 2, 4-7 and 9 compare minigan to. Each entry says why.
NOT_MINIGAN = {
    "train_on_batch": "Keras Model.train_on_batch, the tutorials' D and G updates (pages 4-6, 9)",
    "trainable": "Keras layer.trainable, the tutorials' way to freeze D (pages 4, 7)",
    "compile": "Keras Model.compile, needed after .trainable changes (page 4)",
    "BatchNormalization": "the Keras layer (pages 4, 7)",
    "binary_crossentropy": "the Keras loss (page 2)",
    "define_discriminator": "a function of the Keras tutorials (page 4)",
    "define_gan": "a function of the Keras tutorials (page 4)",
    "mnist_acgan.py": "the Keras example of an AC-GAN (page 9), not a file of this repository",
}
# The first part of a dotted name that is another library's: the rest is that library's.
OTHER_LIBRARIES = {"np", "numpy", "cp", "cupy", "torch", "tf", "keras", "distributed", "dask",
                   "os", "sys", "math", "plt", "matplotlib", "scipy"}
# File kinds that are the repository's when named (an .npz, .csv, .png is a run's output unless
# its folder is the repository's).
SOURCE_EXTENSIONS = (".py", ".md", ".sh", ".js")
FILE_EXTENSIONS = SOURCE_EXTENSIONS + (".html", ".css", ".png", ".gif", ".npz", ".csv", ".json",
                                       ".jsonl", ".pem", ".txt")
SKIP_DIRS = {".git", "__pycache__", "runs", "venv", ".venv", "build", "dist", ".hypothesis",
             "minigan.egg-info", ".pytest_cache"}

CAMEL = re.compile(r"^_*[A-Z][A-Za-z0-9]*[a-z][A-Za-z0-9]*$")
SHELL_START = ("python ", "python3 ", "pip ", "bash ", "dask ", "--", "-m ")
PATH = re.compile(r"^[\w.<>*-]*(/[\w.<>*-]*)*$")
KWARG = re.compile(r"^([A-Za-z_]\w*)=(?!=)(.*)$", re.S)


def is_minigan_like(name):
    """CamelCase or with an underscore: a name English and math don't use."""
    return bool(CAMEL.match(name)) or "_" in name.strip("_") or name.startswith("_")


# --- the index of the package: what runtime getattr sees, and what only the source shows -----
class Index:
    def __init__(self):
        self.short = {}              # short name -> [(module, name or None)]: its modules,
                                     # classes and functions (imported only when followed)
        self.names = set()           # every name minigan defines anywhere (loose checks)
        self.params = set()          # every parameter name of a minigan function
        self.strings = set()         # every string constant minigan spells
        self.class_attrs = {}        # (module, qualname) -> names its body and methods set
        self.file_names = {}         # absolute path of a .py -> names defined at its top level
        self.extra_names = set()     # top-level names of tests/, examples/, benchmarks/
        for path in glob.glob(os.path.join(PACKAGE, "**", "*.py"), recursive=True):
            module = os.path.relpath(path, ROOT)[:-3].replace(os.sep, ".")
            self.read_package_file(path, module.removesuffix(".__init__"))
        self.names |= {s for s in self.strings if s.isidentifier()} | self.params
        self.names = self.names.union(*self.class_attrs.values())
        for folder in ("tests", "examples", "benchmarks", os.path.join("docs", "images")):
            for path in glob.glob(os.path.join(ROOT, folder, "*.py")):
                self.extra_names |= self.read_other_file(path)

    @staticmethod
    def parse(path):
        with open(path, encoding="utf-8") as f:
            return ast.parse(f.read(), path)

    def read_package_file(self, path, module):
        tree = self.parse(path)
        top = self.file_names.setdefault(path, set())
        if not module.endswith("__main__"):
            self.short.setdefault(module.rsplit(".", 1)[-1], []).append((module, None))
            for node in tree.body:
                if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
                    self.short.setdefault(node.name, []).append((module, node.name))
        for node in tree.body:
            top |= defined_names(node)
        self.names |= top

        def visit_class(cls, qualname):
            attrs = self.class_attrs.setdefault((module, qualname), set())
            for node in ast.walk(cls):
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                    attrs.add(node.name)
                for target in assigned_targets(node):
                    if isinstance(target, ast.Attribute):   # self.x = ..., module.is_frozen = ...
                        attrs.add(target.attr)
            attrs |= {n for stmt in cls.body for n in defined_names(stmt)}
            for stmt in cls.body:
                if isinstance(stmt, ast.ClassDef):
                    visit_class(stmt, f"{qualname}.{stmt.name}")

        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef):
                self.names.add(node.name)
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                self.names.add(node.name)
                arguments = node.args
                for arg in (arguments.posonlyargs + arguments.args + arguments.kwonlyargs
                            + [a for a in (arguments.vararg, arguments.kwarg) if a]):
                    self.params.add(arg.arg)
            for target in assigned_targets(node):      # self.x = ..., and a function's locals
                if isinstance(target, ast.Attribute):
                    self.names.add(target.attr)
                elif isinstance(target, ast.Name):
                    self.names.add(target.id)
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                self.strings.add(node.value)
        for stmt in tree.body:
            if isinstance(stmt, ast.ClassDef):
                visit_class(stmt, stmt.name)

    def read_other_file(self, path):
        names = set()
        for node in self.parse(path).body:
            names |= defined_names(node)
            if isinstance(node, ast.ClassDef):
                names |= {n for stmt in node.body for n in defined_names(stmt)}
        return names

    def objects(self, name):
        """The modules, classes and functions of minigan with this short name."""
        found = [importlib.import_module(module) for module, attr in self.short.get(name, [])]
        return [module if attr is None else getattr(module, attr)
                for module, (_, attr) in zip(found, self.short.get(name, []))]

    def instance_attrs(self, cls):
        """What a minigan class and its minigan bases set, by the source."""
        found = set()
        for klass in inspect.getmro(cls):
            found |= self.class_attrs.get((klass.__module__, klass.__qualname__), set())
        return found


def assigned_targets(node):
    if isinstance(node, ast.Assign):
        targets = node.targets
    elif isinstance(node, (ast.AnnAssign, ast.AugAssign, ast.For, ast.comprehension)):
        targets = [node.target]
    elif isinstance(node, ast.withitem) and node.optional_vars is not None:
        targets = [node.optional_vars]
    else:
        return []
    flat = []
    for target in targets:
        flat.extend(target.elts if isinstance(target, (ast.Tuple, ast.List)) else [target])
    return flat


def defined_names(stmt):
    """The names a top-level (or class-level) statement defines."""
    if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return {stmt.name}
    if isinstance(stmt, (ast.Import, ast.ImportFrom)):
        return {(a.asname or a.name).split(".")[0] for a in stmt.names}
    return {t.id for t in assigned_targets(stmt) if isinstance(t, ast.Name)}


@functools.lru_cache(maxsize=None)
def index():
    return Index()


@functools.lru_cache(maxsize=None)
def repository_files():
    """Every file and folder of the repository, by base name."""
    found = {}
    for folder, dirs, files in os.walk(ROOT):
        dirs[:] = [d for d in dirs if d not in SKIP_DIRS]
        for name in files + [d + "/" for d in dirs]:
            found.setdefault(name, []).append(os.path.join(folder, name))
    return found


# --- the pages: inline code spans, the links around them, the names their code blocks define ---
FENCE = re.compile(r"^ {0,3}(```|~~~)[^\n]*\n.*?^ {0,3}\1[ \t]*$", re.M | re.S)
SPAN = re.compile(r"(?<!`)(`+)(?!`)((?:(?!\n[ \t]*\n).)+?)(?<!`)\1(?!`)", re.S)  # in a paragraph
LINK = re.compile(r"\[((?:[^\[\]]|`[^`]*`)*)\]\(([^)\s]+)\)")


class Page:
    def __init__(self, text, path):
        self.path = path
        self.text = text
        self.folder = os.path.dirname(path)
        self.defined, self.attributes, self.aliases, self.foreign = set(), set(), {}, set()
        for block in re.findall(r"^ {0,3}```python\n(.*?)^ {0,3}```", text, re.M | re.S):
            if "(abridged" not in block:           # abridged blocks quote the library's code
                self.read_block(block)

    def read_block(self, block):
        try:
            tree = ast.parse(block)
        except SyntaxError:
            return
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                for a in node.names:
                    full = f"{node.module}.{a.name}" if isinstance(node, ast.ImportFrom) \
                        else a.name
                    if full.split(".")[0] == "minigan":     # functions as F -> minigan.functions
                        self.aliases[a.asname or a.name] = full
                    else:                                   # numpy as np: another library's
                        self.foreign.add(a.asname or a.name.split(".")[0])
                continue
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                self.defined.add(node.name)
            if isinstance(node, ast.arg):
                self.defined.add(node.arg)
            for target in assigned_targets(node):
                if isinstance(target, ast.Name):
                    self.defined.add(target.id)
                elif isinstance(target, ast.Attribute):
                    self.attributes.add(target.attr)

    def spans(self):
        """(line, token, linked .py file or None) for each inline code span outside fences."""
        text = FENCE.sub(lambda m: "\n" * m.group(0).count("\n"), self.text)
        links = [(m.start(1), m.end(1), m.group(2).split("#")[0]) for m in LINK.finditer(text)]
        for m in SPAN.finditer(text):
            token = " ".join(m.group(2).split())
            target = next((t for start, end, t in links if start <= m.start() < end), None)
            linked = None
            if target and target.endswith(".py") and "://" not in target:
                linked = os.path.normpath(os.path.join(self.folder, target))
            yield text.count("\n", 0, m.start()) + 1, token, linked


# --- the checker -------------------------------------------------------------------------------
class Skip(Exception):
    """The token is not a minigan name."""


MISSING = object()
UNKNOWN = object()          # an instance attribute found by ast: its value's type is unknown


class Checker:
    def __init__(self, page):
        self.page = page
        self.index = index()

    def check(self, token, linked=None):
        """None if the token is not minigan's, else what did not resolve (empty when all did)."""
        self.problems, self.checked, self.is_path = [], False, False
        if token in NOT_MINIGAN:
            return None
        try:
            if token.startswith(SHELL_START) or " --" in token:
                self.command(token)
            elif KWARG.match(token):
                self.keyword_token(token)
            elif PATH.match(token) and ("/" in token or token.endswith(FILE_EXTENSIONS)):
                self.path(token)
            else:
                self.python(token)
            if linked and self.checked and not self.is_path:
                self.linked_file(token, linked)
        except Skip:
            return None
        return self.problems if self.checked else None

    def fail(self, message):
        self.checked = True
        self.problems.append(message)

    # rules 1 and 2: files and commands
    def path(self, token):
        self.is_path = True
        if "<" in token or token.startswith(("/", "runs/")):
            raise Skip                              # a placeholder, or a run's output
        first = token.split("/")[0]
        bases = [ROOT, self.page.folder, PACKAGE]
        in_repository = "/" in token and first and (
            any(os.path.isdir(os.path.join(b, first)) for b in bases) or token == first + "/")
        if not (in_repository or token.endswith(SOURCE_EXTENSIONS)):
            raise Skip                              # an output file: checkpoint.npz, curves.png
        self.checked = True
        if any(os.path.exists(os.path.join(b, token)) for b in bases):
            return
        if "/" not in token.rstrip("/") and token in repository_files():
            return                                  # a bare name: trace.py, static/
        self.fail(f"no file {token} in the repository")

    def command(self, token):
        words = token.split()
        for i, word in enumerate(words):
            if i and words[i - 1] == "-m" and word.split(".")[0] == "minigan":
                self.checked = True
                if importlib.util.find_spec(word) is None:
                    self.fail(f"no module {word}")
            elif (word.endswith((".py", ".sh")) or "/" in word) and PATH.match(word) \
                    and not word.startswith("-") and word not in NOT_MINIGAN:
                try:
                    self.path(word)
                except Skip:
                    pass
        if not self.checked:
            raise Skip                              # flags only: --k, --data ring

    # rule 3: a keyword argument on its own
    def keyword_token(self, token):
        name, value = KWARG.match(token).groups()
        if name.isupper():
            raise Skip                              # an environment variable: DASK_...=ca.pem
        if name not in self.index.params:
            self.fail(f"no minigan function takes {name}=")
            return
        self.checked = True
        try:
            value = ast.literal_eval(value)
        except (ValueError, SyntaxError):           # params=D.parameters(): check the call
            try:
                self.expression(ast.parse(value, mode="eval").body, name_position=False)
            except SyntaxError:
                pass
            return
        if isinstance(value, str) and value not in self.index.strings:
            self.fail(f"no minigan code spells {value!r} (for {name}=)")

    def linked_file(self, token, path):
        """[`X.y`](../minigan/file.py): the file defines X or y (at its top or in a class)."""
        if path not in self.index.file_names:
            return                                  # tests/test_docs.py checks the link itself
        names = re.match(r"[\w.]*", token.lstrip("@.")).group(0).split(".")
        module = os.path.relpath(path, ROOT)[:-3].replace(os.sep, ".").removesuffix(".__init__")
        defined = self.index.file_names[path].union(
            *(attrs for (owner, _), attrs in self.index.class_attrs.items() if owner == module))
        if names[0] and not defined.intersection(names):
            self.fail(f"{os.path.relpath(path, ROOT)}, which the link names, "
                      f"defines no {'.'.join(names)}")

    # rule 4: Python
    def python(self, token):
        if re.fullmatch(r"@\w+", token):            # a decorator: @rebuildable
            return self.name(token[1:], always=True)
        loose = token.startswith(".")               # .grad, .to("gpu")
        text = token
        for candidate in (text.lstrip("."), text + "\n    pass", text.rstrip(":")):
            try:
                tree = ast.parse(candidate)
                break
            except SyntaxError:
                continue
        else:
            raise Skip                              # math, prose, an error message
        for stmt in tree.body:
            if isinstance(stmt, ast.Expr) and loose:
                node = stmt.value
                while isinstance(node, ast.Call):
                    node = node.func
                if chain(node):
                    self.attributes(chain(node), "a value")
            elif isinstance(stmt, ast.Expr):
                self.expression(stmt.value, name_position=True)
            elif isinstance(stmt, (ast.Assign, ast.AugAssign, ast.AnnAssign)):
                for target in assigned_targets(stmt):
                    self.expression(target, name_position=True)
                self.expression(stmt.value, name_position=False)
            elif isinstance(stmt, ast.With):
                for item in stmt.items:
                    self.expression(item.context_expr, name_position=True)

    def expression(self, node, name_position):
        """Check the names in an expression. name_position: a bare name here is the subject
        (the whole token, the function called, the name assigned), not some snippet's variable."""
        if isinstance(node, ast.Call):
            self.call(node)
        elif isinstance(node, ast.Name):
            if name_position or CAMEL.match(node.id):
                self.name(node.id)
        elif isinstance(node, ast.Attribute):
            base, attrs = split_chain(node)
            if isinstance(base, ast.Name):
                self.dotted([base.id] + attrs)
            else:                                  # d_steps[0].penalty, Module.frozen().x
                self.expression(base, name_position=True)
                self.attributes(attrs, ast.unparse(base))
        elif isinstance(node, ast.Subscript):
            self.expression(node.value, name_position=name_position)
            key = node.slice
            if isinstance(key, ast.Constant) and isinstance(key.value, str):
                self.checked = True                 # history["d_g_z"]: a column minigan spells
                if key.value not in self.index.strings:
                    self.fail(f"no minigan code spells {key.value!r}")
        else:                                      # math: its calls, chains and CamelCase names
            for child in ast.iter_child_nodes(node):
                if isinstance(child, ast.expr):
                    self.expression(child, name_position=False)

    def call(self, node):
        self.expression(node.func, name_position=True)
        for argument in node.args + [kw.value for kw in node.keywords]:
            self.expression(argument, name_position=False)
        parts = chain(node.func)
        if not any(kw.arg for kw in node.keywords) or not parts or self.foreign(parts[0]):
            return
        callees = self.resolve(parts)
        if not callees and (parts[-1] in self.page.defined or parts[-1] not in self.index.names):
            return                                  # a snippet's function, or another library's
        for kw in (kw for kw in node.keywords if kw.arg):
            self.checked = True
            if callees and not any(takes(callee, kw.arg) for callee in callees):
                self.fail(f"{'.'.join(parts)} takes no {kw.arg}=")
            elif not callees and kw.arg not in self.index.params:
                self.fail(f"no minigan function takes {kw.arg}=")
            elif isinstance(kw.value, ast.Constant) and isinstance(kw.value.value, str) \
                    and kw.value.value not in self.index.strings:
                self.fail(f"no minigan code spells {kw.value.value!r} (for {kw.arg}=)")

    def foreign(self, head):
        return head in OTHER_LIBRARIES or head in self.page.foreign or head in NOT_MINIGAN

    def roots(self, head):
        """What the first part of a dotted name is in minigan: a module, a class, a function
        (a short name may be several: Sigmoid is a layer and a Function)."""
        if head == "minigan":
            return [minigan]
        if head in self.page.aliases:               # F, from "from minigan import functions as F"
            found = self.follow(minigan, self.page.aliases[head].split(".")[1:], "minigan")
            return [found[0]] if isinstance(found, tuple) and found[0] is not UNKNOWN else []
        return self.index.objects(head)

    def follow(self, obj, parts, label):
        """getattr along parts, importing submodules and reading a class's instance attributes
        from its source: (object, []), (UNKNOWN, the parts after an instance attribute), or
        the error, a string."""
        for i, part in enumerate(parts):
            value = getattr(obj, part, MISSING)
            if value is MISSING and inspect.ismodule(obj) and hasattr(obj, "__path__"):
                if importlib.util.find_spec(f"{obj.__name__}.{part}") is not None:
                    value = importlib.import_module(f"{obj.__name__}.{part}")
            if value is MISSING:
                if inspect.isclass(obj) and part in self.index.instance_attrs(obj):
                    return UNKNOWN, parts[i + 1:]
                return f"{label} has no {part}"
            obj, label = value, f"{label}.{part}"
        return obj, []

    def resolve(self, parts):
        """The objects a dotted name may be, where getattr can follow it."""
        found = [self.follow(root, parts[1:], parts[0]) for root in self.roots(parts[0])]
        return [f[0] for f in found if isinstance(f, tuple) and f[0] is not UNKNOWN]

    def dotted(self, parts):
        head = parts[0]
        if self.foreign(head):
            raise Skip
        roots = self.roots(head)
        if not roots:                               # a variable: D.frozen(), z.grad, self.saved
            if is_minigan_like(head):
                self.name(head)
            self.attributes(parts[1:], head)
            return
        self.checked = True
        errors = []
        for root in roots:
            found = self.follow(root, parts[1:], head)
            if isinstance(found, tuple):
                self.attributes(found[1], ".".join(parts[:len(parts) - len(found[1])]))
                return
            errors.append(found)
        if head != "minigan" and head not in self.page.aliases \
                and any(inspect.ismodule(root) for root in roots):
            # a module's short name is also a variable's: `trainer.load_checkpoint`
            if self.attributes(parts[1:], head, report=False):
                return
            errors[0] += ", nor is it an attribute of any minigan class"
        self.fail(errors[0])

    def attributes(self, parts, owner, report=True):
        """Each part is an attribute, method or name somewhere in minigan, or set by the page,
        or a method of Python's own types (`grads.pop`)."""
        ok = True
        for part in parts:
            if part in NOT_MINIGAN:
                raise Skip
            if part in self.index.names or part in self.page.attributes \
                    or part in self.page.defined or part in builtin_attributes():
                self.checked |= report
                continue
            ok = False
            if report:
                self.fail(f"{owner}.{part}: no minigan class or module has an attribute {part}")
        return ok

    def name(self, name, always=False):
        if name in NOT_MINIGAN:
            raise Skip
        if hasattr(builtins, name) or keyword.iskeyword(name):
            return
        if name in self.index.short or name in self.index.names \
                or name in self.index.extra_names:
            # a plain word (x, grad) counts as minigan's only as a module, class or function
            self.checked |= always or name in self.index.short or is_minigan_like(name)
            return
        if name in self.page.defined or name in self.page.aliases or name in self.page.foreign:
            return
        if always or is_minigan_like(name):
            self.fail(f"minigan defines no {name}")


def chain(node):
    """a.b.c -> ["a", "b", "c"]; None when the chain does not start with a name."""
    base, attrs = split_chain(node)
    return [base.id] + attrs if isinstance(base, ast.Name) else None


def split_chain(node):
    """a[0].b.c -> (the node a[0], ["b", "c"])."""
    attrs = []
    while isinstance(node, ast.Attribute):
        attrs.append(node.attr)
        node = node.value
    return node, attrs[::-1]


def takes(obj, name):
    try:
        parameters = inspect.signature(obj).parameters
    except (TypeError, ValueError):
        return True
    return name in parameters or any(p.kind is p.VAR_KEYWORD for p in parameters.values())


@functools.lru_cache(maxsize=None)
def builtin_attributes():
    """Methods of Python's own types: `grads.pop` is a dict's."""
    return {a for t in (object, dict, list, tuple, set, str, int, float) for a in dir(t)}


def check_page(text, path):
    """(problems, checked, skipped) for one page's text: problems as 'page:line: `token`: why',
    checked and skipped the tokens taken for minigan's and not."""
    page = Page(text, path)
    checker = Checker(page)
    problems, checked, skipped = [], [], []
    for line, token, linked in page.spans():
        result = checker.check(token, linked)
        (skipped if result is None else checked).append(token)
        name = os.path.relpath(path, ROOT)
        problems += [f"{name}:{line}: `{token}`: {why}" for why in result or []]
    return problems, checked, skipped


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


@pytest.mark.parametrize("page", PAGES, ids=[os.path.relpath(p, ROOT) for p in PAGES])
def test_every_backticked_minigan_name_exists(page):
    problems, checked, _ = check_page(read(page), page)
    assert checked, f"{page}: no minigan name found: is the checker broken?"
    assert not problems, "backticked names that do not resolve in minigan:\n" + "\n".join(problems)


# --- the checker can fail: a page with renamed names -------------------------------------------
SYNTHETIC = """\
# A page that went stale

`GANTrainer.discriminator_stepp` and `GANTrainer.discriminator_step`, `minigan.gradd` and
`minigan.grad(..., create_graph=True)`, `penalties.r11` and `penalties.r1`, `Module.frozen()` and
`Module.frozenn()`, `tests/test_nothing.py` and `tests/test_batchnorm.py`, `no_such_kwarg="x"`
and `penalty="r1"`, `penalty="r11"`, `check_second_orderr` and `check_second_order`,
`GANTrainer(..., g_averagee=0.999)` and `GANTrainer(..., g_average=0.999)`,
`trainer.g_average.model` and `trainer.g_average.modell`, `python -m minigan.tracee` and
`python -m minigan.trace --data ring`, `functions/convolution.py` and `functions/convolutionn.py`,
`F.tanh` and `F.tanhh`, `history["d_g_z"]` and `history["d_g_zz"]`, `_unit_scaledd` and
`examples/gan_2d.py --g-average 0.999`, [`Tensor.backward`](../minigan/tensor.py) and
[`GANTrainer`](../minigan/tensor.py), `with D.frozenn():`.

Not minigan's, and not reported: `x`, `--k`, `max(l, 0)`, `train_on_batch`, `np.int`,
`BatchNormalization`, `max(l,0) - l*y`, `checkpoint.npz`, `runs/<name>/`, `my_var`, `d_real +
d_fake`, `netD(real_cpu)`, `torch.autograd.grad(create_graph=True)`.

```python
from minigan import functions as F
my_var = F.tanh
```
"""
STALE = ["GANTrainer.discriminator_stepp", "minigan.gradd", "penalties.r11", "Module.frozenn()",
         "tests/test_nothing.py", 'no_such_kwarg="x"', 'penalty="r11"', "check_second_orderr",
         "GANTrainer(..., g_averagee=0.999)", "trainer.g_average.modell",
         "python -m minigan.tracee", "functions/convolutionn.py", "F.tanhh", 'history["d_g_zz"]',
         "_unit_scaledd", "GANTrainer", "with D.frozenn():"]
REAL = ["GANTrainer.discriminator_step", "minigan.grad(..., create_graph=True)", "penalties.r1",
        "Module.frozen()", "tests/test_batchnorm.py", 'penalty="r1"', "check_second_order",
        "GANTrainer(..., g_average=0.999)", "trainer.g_average.model",
        "python -m minigan.trace --data ring", "functions/convolution.py", "F.tanh",
        'history["d_g_z"]', "examples/gan_2d.py --g-average 0.999", "Tensor.backward"]
NOT_MINIGANS = ["x", "--k", "max(l, 0)", "train_on_batch", "np.int", "BatchNormalization",
                "max(l,0) - l*y", "checkpoint.npz", "runs/<name>/", "my_var", "d_real + d_fake",
                "netD(real_cpu)", "torch.autograd.grad(create_graph=True)"]


def test_the_checker_reports_a_renamed_name():
    problems, checked, skipped = check_page(SYNTHETIC, os.path.join(ROOT, "docs", "stale.md"))
    reported = [problem.split("`")[1] for problem in problems]
    assert sorted(set(reported)) == sorted(STALE), "\n".join(problems)
    assert sorted(checked) == sorted(STALE + REAL)       # and the real names pass
    assert skipped == NOT_MINIGANS
    assert "docs/stale.md:3: `GANTrainer.discriminator_stepp`: GANTrainer has no " \
           "discriminator_stepp" in problems
