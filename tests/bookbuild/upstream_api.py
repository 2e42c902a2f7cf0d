"""The public API of a d2l-style module, read from its source with `ast`
(nothing is imported: the upstream package needs its own environment).

`module_api(source)` gives {name: Signature} for the module's top-level
functions and classes (a class's signature is its `__init__`'s) and
{class name: {method: Signature}} for their methods, including the
methods upstream adds to a class later with `@d2l.add_to_class(d2l.X)`;
a later definition replaces an earlier one, as it does at import.
"""
import ast
import dataclasses


@dataclasses.dataclass(frozen=True)
class Signature:
    params: tuple          # positional parameter names, `self` left out
    required: int          # how many of them have no default

    def __str__(self):
        shown = [p if i < self.required else f'{p}=...'
                 for i, p in enumerate(self.params)]
        return '(' + ', '.join(shown) + ')'


def signature(function):
    args = function.args
    names = [a.arg for a in args.posonlyargs + args.args]
    if names and names[0] in ('self', 'cls'):
        names = names[1:]
    return Signature(tuple(names), len(names) - len(args.defaults))


def _added_to(function):
    """The class a top-level function is added to by add_to_class."""
    for decorator in function.decorator_list:
        if isinstance(decorator, ast.Call) and \
                ast.unparse(decorator.func).split('.')[-1] == 'add_to_class':
            return ast.unparse(decorator.args[0]).split('.')[-1]
    return None


def _base_names(cls):
    return [ast.unparse(b).split('.')[-1] for b in cls.bases]


def module_api(source):
    tree = ast.parse(source)
    names, methods, bases = {}, {}, {}
    for node in tree.body:
        if isinstance(node, ast.ClassDef):
            own = {f.name: signature(f) for f in node.body
                   if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef))}
            methods.setdefault(node.name, {}).update(own)
            bases[node.name] = _base_names(node)
            names[node.name] = own.get('__init__')
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            target = _added_to(node)
            if target:
                methods.setdefault(target, {})[node.name] = signature(node)
            else:
                names[node.name] = signature(node)
        elif isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    names[target.id] = None
    # Inherited methods, resolved within the module (Classifier(Module)).
    def all_methods(cls, seen=()):
        found = {}
        for base in bases.get(cls, []):
            if base in methods and base not in seen:
                found.update(all_methods(base, seen + (cls,)))
        found.update(methods.get(cls, {}))
        return found
    return names, {cls: all_methods(cls) for cls in methods}


def chapter_uses(cells):
    """What chapter code cells use of `d2l`: the names (`d2l.X`) and the
    methods they call on anything (`.m(`), as two sets."""
    names, calls = set(), set()
    for source in cells:
        try:
            tree = ast.parse(source)
        except SyntaxError:
            continue  # IPython-only syntax: nothing of d2l's in it
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and \
                    isinstance(node.value, ast.Name) and node.value.id == 'd2l':
                names.add(node.attr)
            elif isinstance(node, ast.Call) and \
                    isinstance(node.func, ast.Attribute):
                calls.add(node.func.attr)
    return names, calls
